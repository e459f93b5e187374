"""A sweep's instruments, measured on its stored runs in the order each needs the last: planted
recovery, filtered variants and the rotation check, comparisons, rotation nulls, feature sets and
their matching.

Planted recovery, comparisons, rotation nulls and feature sets are tasks on the sweep's executor,
as the runs are: each reads the kept vectors of its runs (``RunOnDisk``: the database's vectors
folder, or the file a run is memory-mapped from), never the database, and publishes what it
measured as a result bundle (``result_bundle``), which this process checks and commits
(``store.results``), one transaction each. What each instrument computes lives in ``compare``,
``features`` and ``planted``; matching feature sets, filtered variants and the rotation check are
quick and read the database, so they run here.
"""
from __future__ import annotations

import dataclasses
import itertools
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from polyuni_db.derived.compare import (
    AXIS_NULL,
    DEFAULT_PERMUTATIONS,
    DEFAULT_WORDS,
    NeighbourCache,
    add_filtered_variant,
    axis_overlap_null,
    compare_pair,
    compared_before,
    headline_runs,
    record_rotation_check,
    rotated_sets,
    run_ids,
    shared_rows,
    similarity_table,
    word_set,
)
from polyuni_db.derived.features import FeatureSettings, build_feature_set, fit_rows, match_feature_sets, match_features
from polyuni_db.derived.planted import record_feature_recovery, recovery_tables
from polyuni_db.derived.result_bundle import publish_result, read_result
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import work_folder
from polyuni_db.runs.executor import Cluster, RunOutcome, Task, run_tasks
from polyuni_db.runs.pipeline import fingerprint
from polyuni_db.sources.base import Phase, Progress, no_phase, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.features import stored_feature_set
from polyuni_db.store.read import StoredRun, load_run
from polyuni_db.store.results import commit_result
from polyuni_db.store.write import record_unavailable


@dataclass(frozen=True)
class RunOnDisk:
    """A stored run as a task reads it: its words and their columns, and the file its vectors are
    kept in (sent by name: a memory-mapped array would be pickled whole)."""

    stored: StoredRun  # without its vectors
    vectors_file: str

    @classmethod
    def of(cls, db_path: Path, label: str, lock_timeout: float) -> RunOnDisk:
        run = load_run(db_path, label, lock_timeout)
        return cls(dataclasses.replace(run, vectors=None), str(Path(run.vectors.filename).resolve()))

    @property
    def run_id(self) -> int:
        return self.stored.run_id

    @property
    def fingerprint(self) -> str:
        return self.stored.fingerprint

    def open(self) -> StoredRun:
        return dataclasses.replace(self.stored, vectors=np.load(self.vectors_file, mmap_mode="r"))


# --- the tasks: each runs on a worker and returns the folder of the result bundle it published -----------

def compare_task(run_a: RunOnDisk, later: list[RunOnDisk], options: dict, key: str, bundles: str) -> str:
    """Run a against each of the later runs: every metric against its permutation null, and the
    axis overlap against a's rotations (drawn once for all of them)."""
    a = run_a.open()
    rotated = rotated_sets(a, options["permutations"], options["seed"])
    neighbours = NeighbourCache(options["k"])
    rows = [row for b in later for row in compare_pair(a, b.open(), options["words_requested"], options["k"],
                                                         options["permutations"], options["seed"], rotated, neighbours)]
    return publish_result(bundles, "similarity", key, {}, {"similarity": similarity_table(rows)})


def rotation_null_task(run_a: RunOnDisk, later: list[RunOnDisk], rotations: int, seed: int, key: str,
                       bundles: str) -> str:
    """The axis overlap of run a with each of the later runs against a's random rotations."""
    a = run_a.open()
    set_a, rotated = word_set(a), rotated_sets(a, rotations, seed)
    rows = [axis_overlap_null(a, b, set_a, word_set(b), rotated, seed) for b in (run.open() for run in later)]
    return publish_result(bundles, "similarity", key, {}, {"similarity": similarity_table(rows)})


def feature_set_task(run: RunOnDisk, settings, seed: int, key: str, bundles: str) -> str:
    """A feature set of the run (``features.build_feature_set``, on one core: a worker is one)."""
    stored = run.open()
    dictionary, row, tables, senses = build_feature_set(stored, settings, seed, n_jobs=1)
    row.update(run_id=run.run_id, parameters=settings.spec(stored, seed),
               created_at=datetime.now(timezone.utc).replace(tzinfo=None).isoformat())
    return publish_result(bundles, "feature_set", key, row, {**tables, "wordnet_senses": senses},
                          {"dictionary": dictionary})


def recovery_task(run: RunOnDisk, reference: RunOnDisk, pseudowords: list, null_seed: int, key: str,
                  bundles: str) -> str:
    """What each instrument recovers of the run's planted pseudowords, against its reference."""
    tables, _ = recovery_tables(run.open(), reference.open(), pseudowords, null_seed)
    return publish_result(bundles, "recovery", key, {"run_id": run.run_id}, tables)


# --- the driver ------------------------------------------------------------------------------------------

@contextmanager
def instruments_on(db_path: Path, executor: str = "inline", cluster: Cluster | None = None,
                   bundles: Path | None = None, progress: Progress = no_progress,
                   lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Instruments]:
    """Instruments measured on a cluster (the caller's, else one of ``executor``), publishing to
    ``bundles`` (else a temporary folder beside the database, removed at the end)."""
    with ExitStack() as stack:
        if cluster is None:
            cluster = stack.enter_context(Cluster(executor))
        if bundles is None:
            bundles = stack.enter_context(work_folder(Path(db_path), "bundles"))
        yield Instruments(db_path, cluster, Path(bundles).resolve(), progress, lock_timeout)


class Instruments:
    """The instruments' driver: sends tasks to the cluster, commits what they publish."""

    def __init__(self, db_path: Path, cluster: Cluster, bundles: Path, progress: Progress, lock_timeout: float):
        self.db_path, self.cluster, self.bundles = db_path, cluster, str(bundles)
        self.progress, self.lock_timeout = progress, lock_timeout
        self.runs: dict[str, RunOnDisk] = {}

    def run(self, label: str) -> RunOnDisk:
        if label not in self.runs:
            self.runs[label] = RunOnDisk.of(self.db_path, label, self.lock_timeout)
        return self.runs[label]

    def shared(self, labels) -> dict:
        """The runs, sent to the workers once each (not once per task), by label."""
        return self.cluster.share({label: self.run(label) for label in sorted(labels)})

    def commit(self, path: str):
        return commit_result(self.db_path, read_result(Path(path)), self.lock_timeout)

    def tasks(self, tasks: list[Task], description: str, on_failed=None) -> dict[str, object]:
        """Run the tasks, commit each result as it comes; what each commit returned, by task key."""
        committed = {}

        def done(task: Task, path: str) -> None:
            committed[task.key] = self.commit(path)
            self.progress(len(committed), len(tasks), description)

        def failed(task: Task, error: str) -> None:
            if on_failed is None:
                raise PolyuniError(error)
            on_failed(task, error)

        run_tasks(self.cluster, tasks, done, failed)
        return committed

    def compare(self, labels: list[str], options: dict) -> int:
        """Every pair of the runs not compared with these options (``words_requested``, ``k``,
        ``permutations``, ``seed``) before; returns the similarity rows stored."""
        if len(set(labels)) < 2:
            return 0
        pairs = self._by_first_run(labels, compared_before(self.db_path, options, self.lock_timeout))
        shared = self.shared({label for a, later in pairs.items() for label in [a, *later]})
        tasks = []
        for a, later in pairs.items():
            key = fingerprint({"compare": self.run(a).fingerprint, "with": [self.run(b).fingerprint for b in later],
                               **options})
            tasks.append(Task(f"compare-{a}-{key[:12]}", compare_task,
                              (shared[a], [shared[b] for b in later], options, key, self.bundles)))
        return sum(self.tasks(tasks, "comparing runs").values())

    def rotation_nulls(self, labels: list[str], rotations: int, seed: int) -> int:
        """The axis-overlap rotation null of every pair of the runs not stored with these settings
        (``rotation_nulls``); returns the rows stored."""
        done = compared_before(self.db_path, {"rotations": rotations, "seed": seed}, self.lock_timeout, AXIS_NULL)
        pairs = self._by_first_run(labels, done)
        shared = self.shared({label for a, later in pairs.items() for label in [a, *later]})
        tasks = []
        for a, later in pairs.items():
            key = fingerprint({"rotation_null": self.run(a).fingerprint, "rotations": rotations, "seed": seed,
                               "with": [self.run(b).fingerprint for b in later]})
            tasks.append(Task(f"rotations-{a}-{key[:12]}", rotation_null_task,
                              (shared[a], [shared[b] for b in later], rotations, seed, key, self.bundles)))
        return sum(self.tasks(tasks, "rotation nulls").values())

    def _by_first_run(self, labels: list[str], done: set[tuple[int, int]]) -> dict[str, list[str]]:
        """Every pair of the labels (in label order) not done yet, grouped by its first run: one
        task per first run draws that run's rotations once for all its pairs."""
        pairs: dict[str, list[str]] = {}
        for a, b in itertools.combinations(sorted(set(labels)), 2):
            if (self.run(a).run_id, self.run(b).run_id) not in done:
                pairs.setdefault(a, []).append(b)
        return pairs


def run_instruments(instruments: Instruments, sweep, outcomes: list[RunOutcome], rotations: int | None = None,
                    phase: Phase = no_phase) -> int | None:
    """Every instrument the sweep file asks for, on the runs that were had (``outcomes``, in the
    sweep's order; a planted run whose recovery cannot be measured is recorded and marked failed
    there). Returns the similarity rows [compare] stored, or None without [compare]."""
    file = sweep.file
    db_path, lock_timeout = instruments.db_path, instruments.lock_timeout
    had = [(run, index) for index, (run, outcome) in enumerate(zip(sweep.runs, outcomes)) if outcome.result is not None]
    planted = [(run, index) for run, index in had if run.reference]
    if planted:
        with phase("planted"):
            _recovery(instruments, planted, outcomes)
    stored = [run for run, index in had if outcomes[index].result is not None]
    # runs with planted pseudowords are measured against their references, not compared with every run
    compared = [run.label for run in stored if not run.reference]
    if file.filtered is not None:
        with phase("filtered variants"):
            for run in stored:
                if run.trained:
                    add_filtered_variant(db_path, run.label, file.filtered.min_count, lock_timeout=lock_timeout)
    for group in file.rotations:
        for seed in group.seeds if group.check else ():
            if {group.of, f"{group.of}_rot{seed}"} <= set(compared):
                record_rotation_check(db_path, group.of, f"{group.of}_rot{seed}", lock_timeout)
    similarity = None
    if file.compare is not None:
        section = file.compare
        with phase("comparisons"):
            similarity = instruments.compare(section.select(compared), {
                "words_requested": section.words, "k": section.k, "permutations": section.permutations,
                "seed": section.seed})
    if file.rotation_nulls is not None:
        with phase("baselines"):
            instruments.rotation_nulls(headline_runs(db_path, lock_timeout),
                                       rotations or file.rotation_nulls.rotations, file.rotation_nulls.seed)
    if file.features is not None:
        with phase("feature sets"):
            _features(instruments, file.features, compared,
                      [(run.label, run.reference) for run in stored if run.reference])
    return similarity


def _recovery(instruments: Instruments, planted: list, outcomes: list[RunOutcome]) -> None:
    """Each planted run measured against its reference; one that cannot be is recorded as unavailable."""
    tasks, by_key = [], {}
    for run, index in planted:
        try:
            # built again: the corpus is read once per sweep, so this only names the planted words
            corpus = run.build(instruments.db_path)[0].corpus
            shared = instruments.shared([run.label, run.reference])
        except PolyuniError as error:
            _unavailable(instruments, run, index, outcomes, str(error))
            continue
        null_seed = (corpus.transform or {}).get("seed") or 0
        key = fingerprint({"recovery": run.label, "run": instruments.run(run.label).fingerprint,
                           "reference": instruments.run(run.reference).fingerprint, "null_seed": null_seed})
        tasks.append(Task(f"recovery-{run.label}-{key[:12]}", recovery_task,
                          (shared[run.label], shared[run.reference], list(corpus.pseudowords), null_seed, key,
                           instruments.bundles)))
        by_key[tasks[-1].key] = (run, index)
    instruments.tasks(tasks, "planted recovery",
                      on_failed=lambda task, error: _unavailable(instruments, *by_key[task.key], outcomes, error))


def _unavailable(instruments: Instruments, run, index: int, outcomes: list[RunOutcome], error: str) -> None:
    record_unavailable(instruments.db_path, run.label, run.requested, error, instruments.lock_timeout)
    outcomes[index] = RunOutcome(run.label, None, error)


def _fit(instruments: Instruments, wanted: dict[str, list[int]], settings) -> dict[str, int]:
    """Feature sets of the runs (label: dictionary seeds) not stored yet, as tasks; a run the
    settings cannot fit (too few trained words for the atoms) gets none. Two seeds of a run are then
    matched: its stability, the ceiling of any cross-run match. Returns each fitted run's first seed."""
    fitted, opened, ids, tasks = {}, {}, {}, []
    for label, seeds in wanted.items():
        stored = opened[label] = instruments.run(label).open()
        try:
            settings.check(stored, fit_rows(stored).size)
        except PolyuniError:  # the report lists the feature sets there are
            continue
        fitted[label] = seeds[0]
        for seed in seeds:
            key = fingerprint(settings.spec(stored, seed))
            if (found := stored_feature_set(instruments.db_path, key, instruments.lock_timeout)) is not None:
                ids[label, seed] = found
            else:
                tasks.append(Task(f"features-{label}-{seed}-{key[:12]}", feature_set_task,
                                  (instruments.shared([label])[label], settings, seed, key, instruments.bundles)))
                ids[label, seed] = tasks[-1].key
    committed = instruments.tasks(tasks, "feature sets")
    ids = {where: committed.get(found, found) for where, found in ids.items()}
    for label in fitted:
        run = opened[label]
        for seed_a, seed_b in itertools.combinations(sorted(set(wanted[label])), 2):
            match_feature_sets(instruments.db_path, run, run, ids[label, seed_a], ids[label, seed_b],
                               lock_timeout=instruments.lock_timeout)
    return fitted


def _features(instruments: Instruments, section, stored: list[str], planted: list[tuple[str, str]]) -> None:
    """Feature sets of the selected runs, two independent seeds each (the run's seed ceiling) and no
    seed shared between runs (``section.seeds_of``), then every pair of them matched, each run's
    first seed. A planted run (``planted``: run, reference) whose reference got a feature set gets
    one too, from the reference's seed, for the features instrument of planted polysemy; it is kept
    out of the matching, as out of compare."""
    settings = FeatureSettings(section.atoms, section.nonzero, section.words, section.method)
    fitted = _fit(instruments, {label: section.seeds_of(position)
                                for position, label in enumerate(section.select(stored))}, settings)
    if section.match and len(fitted) >= 2:
        match_features(instruments.db_path, list(fitted.items()), settings, progress=instruments.progress,
                       lock_timeout=instruments.lock_timeout)
    measured = [(label, reference) for label, reference in planted if reference in fitted]
    _fit(instruments, {label: [fitted[reference]] for label, reference in measured}, settings)
    for label, reference in measured:
        record_feature_recovery(instruments.db_path, label, reference, settings, fitted[reference],
                                lock_timeout=instruments.lock_timeout)


# --- the command line's entry points: `polyuni compare` and `polyuni compare --rotation-nulls` ---------------

def compare(db_path: Path, labels: list[str], n_words: int = DEFAULT_WORDS, k: int = 10,
            permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0, progress: Progress = no_progress,
            lock_timeout: float = DEFAULT_LOCK_TIMEOUT, executor: str = "inline") -> int:
    """Every pair of the given runs (in label order) not compared with these settings before, on
    the executor (``instruments``); returns how many similarity rows were stored."""
    if len(set(labels)) < 2:
        raise PolyuniError("compare needs at least two different run labels")
    if n_words < 20 or k < 1 or permutations < 1:
        raise PolyuniError("--words must be at least 20, --k and --permutations at least 1")
    runs = [load_run(db_path, label, lock_timeout) for label in sorted(set(labels))]  # every label stored
    for a, b in itertools.combinations(runs, 2):  # and every pair sharing enough words, before any work
        shared_rows(a, b, n_words)
    options = {"words_requested": n_words, "k": k, "permutations": permutations, "seed": seed}
    with instruments_on(db_path, executor, progress=progress, lock_timeout=lock_timeout) as instruments:
        return instruments.compare(labels, options)


def rotation_nulls(db_path: Path, labels: list[str] | None = None, rotations: int = DEFAULT_PERMUTATIONS,
                   seed: int = 0, progress: Progress = no_progress, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                   executor: str = "inline") -> int:
    """Only the axis-overlap rotation null, for every pair of the given runs (default: every run over
    1,000 words) not yet stored with these settings: the baseline of Approach 3's headline table,
    cheap beside a full ``compare`` (one dimension-word pass per rotation of the first run of each
    pair in label order, as ``compare`` does). Returns how many rows were stored."""
    if rotations < 1:
        raise PolyuniError("--permutations (rotations) must be at least 1")
    labels = sorted(run_ids(db_path, labels, lock_timeout))
    with instruments_on(db_path, executor, progress=progress, lock_timeout=lock_timeout) as instruments:
        return instruments.rotation_nulls(labels, rotations, seed)
