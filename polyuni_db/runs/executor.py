"""Many runs at once: each is computed as a bundle by a Dask task, then committed here, one at a time.

The executor is ``local`` (a Dask LocalCluster on 127.0.0.1, one single-threaded worker process per
core), ``local:N`` (N workers), ``tcp://HOST:PORT`` (a running Dask scheduler: the same task code
on a cluster whose workers share the bundle folder's file system) or ``inline`` (the same task
function called in this process). Workers never open the database.

A run is described by what ``study.plan()`` gives (label, requested, ``build(db_path)``, and the
labels it needs stored first). ``build`` runs here, in the driver: it is cheap, it yields the
fingerprint (so runs already stored or bundled are never sent), and the Source it returns is a
plain picklable dataclass (its corpus travels with it), whereas ``build`` itself is a closure over
a cached corpus reader that does not pickle.
"""
from __future__ import annotations

import logging
import os
import signal
import shutil
import socket
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from polyuni_db.errors import PolyuniError, quiet_numerics
from polyuni_db.runs.bundle import (
    VECTORS_FILE,
    Published,
    bundle_path,
    compute_run,
    remove_partials,
    remove_stale_work_folders,
    work_folder,
)
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.labels import shown
from polyuni_db.runs.pipeline import IngestResult, commit_bundle, run_identity
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.write import record_unavailable, stored_run

DEFAULT_EXECUTOR = "local"
EXECUTOR_HELP = ("local (one worker per core, default), local:N (N worker processes on this machine), "
                 "tcp://HOST:PORT (a running `dask scheduler`) or inline (in this process, one run after "
                 "another, no Dask: for debugging)")
ATTEMPTS = 2  # a failed task is retried once
# Beyond these, a typo is likelier than a plan: a grid this large, or more worker processes than
# this many per core (each a Python process of 100+ MB), needs --yes.
MAX_RUNS_WITHOUT_YES = 10_000
MAX_WORKERS_PER_CORE_WITHOUT_YES = 4
SCHEDULER_TIMEOUT_SECONDS = 5


class ExecutorUnavailable(PolyuniError):
    """The executor cannot run anything (an unreachable scheduler): the whole sweep stops, in one line."""


class Planned(Protocol):
    """What ``study.PlannedRun`` provides."""

    label: str
    requested: str
    build: Callable[[Path], tuple[Source, AnalysisSettings]]
    after: tuple[str, ...]


@dataclass(frozen=True)
class RunOutcome:
    label: str
    result: IngestResult | None  # None when the run could not be had
    error: str | None = None


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; pickled to the worker. A trained source's sentences do not
    travel in the task (Brown's are 10 MB, and Dask warns of a large task graph): they wait in
    ``corpus_file`` in the bundle folder, which every worker reads, and the worker reads them back."""

    source: Source
    label: str
    parameters: dict
    fingerprint: str
    settings: AnalysisSettings
    bundles: str
    corpus_file: str | None = None


@dataclass
class SweepStatus:
    """Runs of the sweep: done (stored, skipped or committed), running, queued, failed, of total."""

    total: int
    done: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0


def compute_task(task: RunTask) -> Published:
    """The one task function: compute the run and publish its bundle."""
    quiet_numerics()
    _hold_for_fault_tests(task)
    source = task.source
    if task.corpus_file is not None:
        sentences = pq.read_table(task.corpus_file).column("sentence").to_pylist()
        source = replace(source, corpus=replace(source.corpus, sentences=sentences))
    return compute_run(source, task.label, task.parameters, task.fingerprint, task.settings, Path(task.bundles))


def corpus_apart(source: Source, folder: Path) -> tuple[Source, str | None]:
    """The source without its sentences, and the Parquet file in ``folder`` that holds them (written
    once per corpus, under its content hash); a source without a corpus as it is."""
    corpus = getattr(source, "corpus", None)
    if corpus is None:
        return source, None
    path = folder / f"{corpus.spec()['sha256']}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".partial-{os.getpid()}")
        pq.write_table(pa.table({"sentence": corpus.sentences}), partial)
        os.replace(partial, path)
    # the base of a planted corpus and its pseudowords are the driver's business, not training's
    return replace(source, corpus=replace(corpus, sentences=[], base=None)), str(path)


def _hold_for_fault_tests(task: RunTask) -> None:
    """Fault injection: with POLYUNI_TEST_HOLD_TASK=LABEL@DIR, the first attempt at LABEL writes its
    process id to DIR/LABEL.pid and waits, so that a test can kill the worker mid-task."""
    setting = os.environ.get("POLYUNI_TEST_HOLD_TASK", "")
    label, _, folder = setting.partition("@")
    if label != task.label:
        return
    marker = Path(folder) / f"{label}.pid"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(60)


def one_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def parse_executor(executor: str) -> tuple[str, int | str]:
    """('local', workers), ('remote', address) or ('inline', 0); a one-line error for anything else."""
    if executor.startswith("tcp://"):
        host, _, port = executor.removeprefix("tcp://").rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise PolyuniError(f"--executor {shown(executor)!r}: a scheduler is tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
        return "remote", executor
    if executor == "inline":
        return "inline", 0
    name, _, count = executor.partition(":")
    if name == "local":
        if not count:
            return "local", len(os.sched_getaffinity(0))
        if count.isdigit() and int(count) >= 1:
            return "local", int(count)
    raise PolyuniError(f"--executor {shown(executor)!r}: use {EXECUTOR_HELP}")


def check_scale(n_runs: int, executor: str, yes: bool) -> None:
    """Refuse, unless ``yes``, a grid of more than MAX_RUNS_WITHOUT_YES runs or a local cluster of more
    than MAX_WORKERS_PER_CORE_WITHOUT_YES workers per core: before anything is built or started."""
    kind, workers = parse_executor(executor)
    if yes:
        return
    if n_runs > MAX_RUNS_WITHOUT_YES:
        raise PolyuniError(f"{n_runs:,} runs is more than {MAX_RUNS_WITHOUT_YES:,}: check the grid, or add --yes")
    cores = len(os.sched_getaffinity(0))
    if kind == "local" and workers > MAX_WORKERS_PER_CORE_WITHOUT_YES * cores:
        raise PolyuniError(f"--executor {executor}: {workers:,} worker processes on {cores} cores (more than "
                           f"{MAX_WORKERS_PER_CORE_WITHOUT_YES} per core): use fewer, or add --yes")


def _check_bundle_folder(bundles: Path) -> None:
    """Before any work: --bundles must be a folder, or a folder that can be made."""
    if bundles.exists() and not bundles.is_dir():
        raise PolyuniError(f"--bundles {shown(bundles)} is a file; give a folder for the run bundles")
    existing = next(folder for folder in (bundles, *bundles.parents) if folder.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise PolyuniError(f"--bundles {shown(bundles)}: cannot write in {shown(existing)}")


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Worker processes started here inherit SIGINT ignored: a terminal's Ctrl-C reaches the whole
    process group, and only this process should act on it (cancel the tasks, stop the cluster)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _ctrl_c_noted(pressed: threading.Event) -> Iterator[None]:
    """While Dask runs the tasks, a Ctrl-C only sets ``pressed``, and the driver's wait for tasks
    raises KeyboardInterrupt. Raised by the signal handler itself, it could land inside one of
    Dask's garbage-collector callbacks, where Python prints it ("Exception ignored in ...") and goes
    on waiting for the tasks."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Cluster:
    """The executor of a sweep, shared by its runs and its instruments: a Dask client started on
    first use (a rerun with nothing to compute starts none) and stopped, its local workers killed,
    on close. While it runs, Ctrl-C is noted in ``ctrl_c`` and raised by the driver's waits."""

    def __init__(self, executor: str) -> None:
        self.inline = parse_executor(executor)[0] == "inline"  # a wrong --executor fails before any work
        self.executor = executor
        self.ctrl_c = threading.Event()
        self._client = None
        self._services = ExitStack()

    def client(self):
        if self._client is None:
            self._services.enter_context(_ctrl_c_noted(self.ctrl_c))
            self._client = self._services.enter_context(dask_client(self.executor))
        return self._client

    def threads(self) -> int:
        return sum(self._client.nthreads().values()) if self._client is not None else 0

    def share(self, values: dict) -> dict:
        """The values, sent to the workers once (tasks then take them by reference), by key."""
        if self.inline or not values:
            return values
        return dict(zip(values, self.client().scatter(list(values.values()), hash=False)))

    def close(self) -> None:
        self._services.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def finished(cluster: Cluster, futures) -> list:
    """The futures done once any is; Ctrl-C (noted by the cluster) raises KeyboardInterrupt here."""
    from distributed import wait

    while True:
        if cluster.ctrl_c.is_set():
            raise KeyboardInterrupt
        try:
            return list(wait(list(futures), timeout=0.5, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            continue


def on_one_blas_thread(function: Callable, *args):
    """``function(*args)`` with one BLAS thread: a task's rows must not depend on where it ran, and
    threads sum in another order (Dask's nannies give workers one thread; workers without one, and
    this process, have one per core)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return function(*args)


def _call(function: Callable, *args) -> tuple[object, str | None]:
    """``function(*args)`` here, tried ATTEMPTS times: (its result, None) or (None, the last one-line error)."""
    for _ in range(ATTEMPTS):
        try:
            return function(*args), None
        except PolyuniError as error:
            failure = one_line(error)
    return None, failure


@dataclass(frozen=True)
class Task:
    """One task of an instrument: ``function(*args)`` on a worker; ``key`` names it (unique)."""

    key: str
    function: Callable
    args: tuple


def run_tasks(cluster: Cluster, tasks: list[Task], on_done: Callable[[Task, object], None],
              on_failed: Callable[[Task, str], None]) -> None:
    """Every task on the cluster (inline: here, one after another), each retried once; as each
    finishes, ``on_done(task, result)`` here, in the driver (which commits), or ``on_failed(task,
    its one-line error)``."""
    if cluster.inline:
        for task in tasks:
            result, error = _call(on_one_blas_thread, task.function, *task.args)
            if error is None:
                on_done(task, result)
            else:
                on_failed(task, error)
        return
    if not tasks:
        return
    client = cluster.client()
    futures = {client.submit(on_one_blas_thread, task.function, *task.args, key=task.key, retries=ATTEMPTS - 1,
                             pure=False): task for task in tasks}
    try:
        while futures:
            for future in finished(cluster, futures):
                task = futures.pop(future)
                try:
                    result = future.result()
                except Exception as error:  # failed twice
                    on_failed(task, one_line(error))
                    continue
                on_done(task, result)
    finally:  # also on Ctrl-C or an error: stop what is queued or running
        for future in futures:
            future.cancel()


@contextmanager
def dask_client(executor: str) -> Iterator:
    """A Dask client for the executor; a local cluster is stopped (its workers killed) on exit."""
    kind, where = parse_executor(executor)
    from distributed import Client, LocalCluster

    for name in ("distributed", "tornado"):  # worker start-up and shut-down chatter at INFO and WARNING
        logging.getLogger(name).setLevel(logging.ERROR)
    if kind == "local":
        # everything on loopback (the HTTP server too, on a free port); workers' logs silenced, or
        # their heartbeats print tracebacks while the cluster shuts down
        with _workers_ignore_ctrl_c():
            cluster = LocalCluster(n_workers=where, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)
        with cluster, Client(cluster) as client:
            yield client
        return
    host, _, port = where.removeprefix("tcp://").rpartition(":")
    try:  # a refused or unroutable address fails here at once, not after Dask's retries
        socket.create_connection((host.strip("[]"), int(port)), timeout=SCHEDULER_TIMEOUT_SECONDS).close()
        client = Client(where, timeout=f"{SCHEDULER_TIMEOUT_SECONDS}s")
    except (OSError, TimeoutError) as error:
        raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {shown(where)} ({one_line(error)})") from None
    with client:
        yield client


def run_all(
    db_path: Path,
    planned: list[Planned],
    executor: str = DEFAULT_EXECUTOR,
    bundles: Path | None = None,
    track: bool = True,
    force: bool = False,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_outcome: Callable[[RunOutcome], None] = lambda outcome: None,
    on_status: Callable[[SweepStatus], None] = lambda status: None,
    record_failures: bool = True,
    yes: bool = False,
    cluster: Cluster | None = None,
) -> list[RunOutcome]:
    """Compute every planned run on the executor and commit each as it finishes; outcomes in plan order.

    Runs stored already are skipped, runs bundled already (under ``bundles``) are committed without
    computing. A task that fails is retried once, then recorded (``unavailable_sources``) with its
    one-line error (unless not ``record_failures``), and the others go on; a run waits for the labels
    in its ``after``. Without
    ``bundles`` the bundles go to a temporary folder beside the database, removed at the end. On a
    ``cluster`` of the caller's (a sweep's, shared with its instruments) when given, else its own.
    """
    check_scale(len(planned), executor, yes)  # a wrong --executor, or a typo's scale, fails before any work
    with ExitStack() as stack:
        if cluster is None:
            cluster = stack.enter_context(Cluster(executor))
        if bundles is None:
            remove_stale_work_folders(db_path)
            bundles = stack.enter_context(work_folder(db_path, "bundles"))
        else:
            _check_bundle_folder(Path(bundles))
        runner = _Runner(db_path, planned, cluster, Path(bundles).resolve(), track, force, progress, lock_timeout,
                         on_outcome, on_status, record_failures)
        return runner.run()


class _Runner:
    """The driver's loop: build, skip or submit, commit as tasks finish."""

    def __init__(self, db_path, planned, cluster, bundles, track, force, progress, lock_timeout, on_outcome,
                 on_status, record_failures):
        self.record_failures = record_failures
        self.db_path, self.cluster, self.bundles = db_path, cluster, bundles
        self.track, self.force, self.progress, self.lock_timeout = track, force, progress, lock_timeout
        self.on_outcome, self.on_status = on_outcome, on_status
        self.waiting = list(planned)
        self.order = [item.label for item in planned]
        self.outcomes: dict[str, RunOutcome] = {}
        self.status = SweepStatus(total=len(planned))
        self.futures: dict = {}  # future -> planned run
        self.fingerprints: set[str] = set()
        self.corpora = bundles / f".corpora-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # sentences for the workers

    def run(self) -> list[RunOutcome]:
        completed = False
        try:
            self._dispatch_ready()
            while self.futures:
                self._collect_one()
                self._dispatch_ready()
            if self.cluster.ctrl_c.is_set():  # pressed while the last run was being committed
                raise KeyboardInterrupt
            completed = True
        finally:  # also on Ctrl-C or an error: stop what is queued or running, then a local cluster's workers
            for future in self.futures:
                future.cancel()
            if not completed:
                self.cluster.close()
            remove_partials(self.bundles, self.fingerprints)  # what killed workers left
            shutil.rmtree(self.corpora, ignore_errors=True)
        return [self.outcomes[label] for label in self.order]

    def _finish(self, label: str, outcome: RunOutcome) -> None:
        self.outcomes[label] = outcome
        if outcome.result is None:
            self.status.failed += 1
        else:
            self.status.done += 1
        self.on_outcome(outcome)
        self._report()

    def _report(self) -> None:
        threads = self.cluster.threads()
        self.status.running = min(len(self.futures), threads)
        self.status.queued = len(self.futures) - self.status.running
        self.on_status(self.status)

    def _fail(self, item: Planned, error: str) -> None:
        error = error.splitlines()[0] if error else "failed"
        if self.record_failures:
            record_unavailable(self.db_path, item.label, item.requested, error, self.lock_timeout)
        self._finish(item.label, RunOutcome(item.label, None, error))

    def _dispatch_ready(self) -> None:
        """Build every run whose dependencies are settled; skip, commit or submit it."""
        while True:
            ready = [item for item in self.waiting
                     # a label outside the plan is settled: stored before, or build says it is missing
                     if all(label in self.outcomes or label not in self.order for label in item.after)]
            if not ready:
                return
            for item in ready:
                self.waiting.remove(item)
                missing = [label for label in item.after if label in self.outcomes and self.outcomes[label].result is None]
                if missing:
                    self._fail(item, f"needs {', '.join(missing)}, which could not be had")
                    continue
                try:
                    self._dispatch(item)
                except ExecutorUnavailable:
                    raise
                except PolyuniError as error:
                    self._fail(item, str(error))

    def _dispatch(self, item: Planned) -> None:
        source, settings = item.build(self.db_path)
        label, parameters, fingerprint = run_identity(source, item.label, settings)
        if not self.force and (stored := stored_run(self.db_path, label, fingerprint, self.lock_timeout)):
            self._finish(label, RunOutcome(label, IngestResult(stored.label, stored.run_id, "skipped")))
            return
        # computed by an earlier, interrupted sweep (unless its vectors were memory-mapped from elsewhere:
        # computing it again, which keeps the bundle, gives where from)
        if (bundle_path(self.bundles, fingerprint) / VECTORS_FILE).is_file():
            self._commit(item, Published(bundle_path(self.bundles, fingerprint), None))
            return
        self.fingerprints.add(fingerprint)
        task = RunTask(source, label, parameters, fingerprint, settings, str(self.bundles))
        if self.cluster.inline:
            self._compute_here(item, task)
            return
        client = self.cluster.client()
        source, corpus_file = corpus_apart(source, self.corpora)
        future = client.submit(compute_task, replace(task, source=source, corpus_file=corpus_file),
                               key=f"run-{label}-{fingerprint[:12]}", retries=ATTEMPTS - 1, pure=False)
        self.futures[future] = item
        self._report()

    def _compute_here(self, item: Planned, task: RunTask) -> None:
        published, error = _call(compute_task, task)
        if error is None:
            self._commit(item, published)
        else:
            self._fail(item, error)

    def _collect_one(self) -> None:
        for future in finished(self.cluster, self.futures):
            item = self.futures.pop(future)
            try:
                published = future.result()
            except Exception as error:  # the task failed twice: record it, the sweep goes on
                self._fail(item, one_line(error))
                continue
            self._commit(item, published)

    def _commit(self, item: Planned, published: Published) -> None:
        try:
            result = commit_bundle(self.db_path, published.folder, track=self.track, force=self.force,
                                   progress=self.progress, lock_timeout=self.lock_timeout,
                                   vectors_source=published.vectors_source)
        except PolyuniError as error:
            self._fail(item, str(error))
            return
        self._finish(item.label, RunOutcome(item.label, result))
