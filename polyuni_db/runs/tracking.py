"""MLflow logging: the experiment a database logs to; each run with its parameters, metrics and
findings as artifacts; each study or sweep as a parent run whose children are the runs it computed,
with its settings, wall time, derived results (comparisons, feature sets, planted recovery, the
verdict) and its report.

Runs are computed on Dask workers and logged by the driver as it commits them (``pipeline``): a
study or sweep sets its parent run for the driver with ``study_run`` (a context manager), so the
executor and the pipeline need no argument for it. What a study derives is read back from the
database when it ends, so that how the study computes it does not matter here.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import numbers
import os
import re
import tempfile
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.csv as pa_csv

from polyuni_db.errors import PolyuniError
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT

EXPERIMENT_VARIABLE = "MLFLOW_EXPERIMENT_NAME"  # MLflow's own way to choose the experiment
# MLflow's own HTTP settings, used unless the user set them: a tracking server that is down costs
# seconds, not MLflow's defaults of a 120 s timeout and 7 retries with back-off.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
REPORT_PAGE = "index.html"  # what the report writes, its figures inside
# MLflow's limits on one log_batch call
BATCH_METRICS = 1000
BATCH_PARAMS = 100

_chosen_experiment: ContextVar[str | None] = ContextVar("polyuni_experiment", default=None)
_parent: ContextVar["ParentRun | None"] = ContextVar("polyuni_parent_run", default=None)
_experiment_ids: dict[tuple[str, str, str], str] = {}  # (tracking URI, database, name) -> id, per process


def tracking_uri(db_path: Path) -> str:
    """MLFLOW_TRACKING_URI when set, else a sqlite store beside the DuckDB file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{_sibling(db_path, '.mlflow.sqlite')}"


def shown_uri(uri: str) -> str:
    """The tracking URI without a password, to print or put on a page."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


def _sibling(db_path: Path, suffix: str) -> Path:
    return db_path.resolve().with_name(db_path.stem + suffix)


def flatten(parameters: dict, prefix: str = "") -> dict[str, str]:
    """Nested parameters to MLflow's flat string parameters: {"corpus": {"name": x}} -> corpus.name."""
    flat = {}
    for key, value in parameters.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return flat


def metric_key(*parts: str) -> str:
    """A metric name MLflow takes (letters, digits, _ - . space / and colon), from labels that may
    hold anything: other characters become _, so that the UI groups keys by what comes before '/'."""
    return "/".join(re.sub(r"[^\w.\- ]", "_", part) for part in parts)


# --- which experiment -------------------------------------------------------------------------------

@contextmanager
def experiment_chosen(name: str) -> Iterator[None]:
    """`--experiment NAME` for what is logged inside the block. MLFLOW_EXPERIMENT_NAME, MLflow's own
    setting, comes first; both set to different names is an error."""
    variable = os.environ.get(EXPERIMENT_VARIABLE)
    if variable and variable != name:
        raise PolyuniError(f"--experiment {name!r} and {EXPERIMENT_VARIABLE}={variable!r} disagree: "
                           "unset the variable or give the same name")
    token = _chosen_experiment.set(name)
    try:
        yield
    finally:
        _chosen_experiment.reset(token)


def chosen_experiment(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[str, str | None, str]:
    """(name, the id recorded for it or None, why), without asking MLflow: MLFLOW_EXPERIMENT_NAME,
    else --experiment, else the experiment the database logged to last, else the database's file name."""
    from polyuni_db.store.read import recorded_experiment

    if variable := os.environ.get(EXPERIMENT_VARIABLE):
        return variable, None, EXPERIMENT_VARIABLE
    if chosen := _chosen_experiment.get():
        return chosen, None, "--experiment"
    if recorded := recorded_experiment(db_path, lock_timeout):
        return recorded[0], recorded[1], "the database's experiment"
    return db_path.name, None, "named after the database file"


def describe_experiment(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> str:
    """Where this database's runs are logged, in words (for `polyuni runs` and the report)."""
    name, _, why = chosen_experiment(db_path, lock_timeout)
    return f"MLflow experiment {name!r} ({why}) at {shown_uri(tracking_uri(db_path))}"


def _client(db_path: Path):
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow.tracking import MlflowClient

    # MLflow narrates migrating its sqlite store at INFO, and each HTTP retry at WARNING
    for name in ("alembic", "mlflow", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    uri = tracking_uri(db_path)
    _check_reachable(uri)
    return MlflowClient(tracking_uri=uri)


def _check_reachable(uri: str) -> None:
    """Fail at once where MLflow would retry for minutes: a sqlite store it cannot create or write."""
    if not uri.startswith("sqlite:///"):
        return
    from polyuni_db.store.db import can_create_in

    store = Path(uri[len("sqlite:///"):])
    if not can_create_in(store.parent):  # sqlite writes a journal beside the store
        raise PermissionError(f"cannot write the MLflow store {store}: its folder is not writable")


def experiment_id(client, db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> str:
    """The id of the chosen experiment, created when missing, and recorded as the database's."""
    from mlflow.exceptions import MlflowException

    from polyuni_db.store.write import record_experiment

    name, recorded_id, _ = chosen_experiment(db_path, lock_timeout)
    key = (client.tracking_uri, str(db_path.resolve()), name)
    if key in _experiment_ids:
        return _experiment_ids[key]
    experiment = None
    if recorded_id is not None:  # the same id in another tracking store is another experiment
        try:
            experiment = client.get_experiment(recorded_id)
        except MlflowException:
            experiment = None
        if experiment is not None and (experiment.name != name or experiment.lifecycle_stage != "active"):
            experiment = None
    experiment = experiment or client.get_experiment_by_name(name)
    if experiment is None:
        artifact_location = None  # an MLflow server keeps artifacts itself (--serve-artifacts)
        if not client.tracking_uri.startswith(("http://", "https://")):  # a database store (sqlite,
            artifact_location = _sibling(db_path, ".mlflow-artifacts").as_uri()  # PostgreSQL): beside ours
        found = client.create_experiment(name, artifact_location=artifact_location,
                                         tags={"polyuni.database": str(db_path.resolve())})
    elif experiment.lifecycle_stage != "active":
        raise PolyuniError(f"MLflow experiment {name!r} is deleted: restore it (`mlflow experiments restore`) "
                           "or choose another with --experiment")
    else:
        found = experiment.experiment_id
    if recorded_id != found:
        record_experiment(db_path, name, found, lock_timeout)
    _experiment_ids[key] = found
    return found


# --- runs -------------------------------------------------------------------------------------------

def log_run(
    db_path: Path, label: str, parameters: dict, metrics: dict[str, float], artifacts: dict[str, pa.Table],
    polyuni_run_id: int | None = None, parent_run_id: str | None = None,
) -> str:
    """Log one run and return its MLflow run id. Raises whatever MLflow raises. The MLflow run is named
    by the label and tagged with the label and polyuni's ``run_id``; it is the child of
    ``parent_run_id``, else of the study or sweep under way (``study_run``), if any."""
    from mlflow.entities import Metric, Param

    client = _client(db_path)
    parent = _parent.get()
    if parent_run_id is None and parent is not None:
        parent_run_id = parent.run_id(client)
    tags = {"polyuni.kind": "run", "polyuni.database": str(db_path.resolve()), "polyuni.label": label}
    if polyuni_run_id is not None:
        tags["polyuni.run_id"] = str(polyuni_run_id)
    if parent_run_id is not None:
        tags["mlflow.parentRunId"] = parent_run_id  # MLflow shows the run under its parent
    run = client.create_run(experiment_id(client, db_path), run_name=label, tags=tags)
    run_id = run.info.run_id
    try:
        now = _now_ms()
        client.log_batch(
            run_id,
            params=[Param(key, value[:6000]) for key, value in flatten(parameters).items()],
            metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items() if value is not None],
        )
        with tempfile.TemporaryDirectory() as folder:
            for name, table in artifacts.items():
                pa_csv.write_csv(table, Path(folder) / f"{name}.csv")
            client.log_artifacts(run_id, folder)
    except Exception:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def _now_ms() -> int:
    return int(time.time() * 1000)


# --- studies and sweeps: the parent run -------------------------------------------------------------

class ParentRun:
    """A study or sweep under way. Its MLflow run is created when its first child is logged (or at
    the end), so that a study that fails on its input leaves nothing in MLflow."""

    def __init__(self, db_path: Path, kind: str, name: str, settings: dict, files: dict[str, str],
                 executor: str, command: str) -> None:
        self.db_path, self.kind, self.name, self.executor, self.command = db_path, kind, name, executor, command
        self.settings = {"parameters": settings, "files": files}
        self.started = time.time()
        self.mlflow_run_id: str | None = None
        self.runs: dict[int, bool] = {}  # polyuni run id -> reused (stored before the study)
        self.report_folder: Path | None = None  # the page the study wrote, logged with it
        self.study_id: int | None = None  # once recorded in the database
        self.mlflow_error: str | None = None  # why its logging failed, if it did

    def run_id(self, client) -> str:
        if self.mlflow_run_id is None:
            self.mlflow_run_id = _start_parent(client, self.db_path, self.kind, self.name, self.started)
        return self.mlflow_run_id

    def add(self, outcomes) -> None:
        """The runs the study had (executor outcomes): stored now, or before (skipped) and reused."""
        for outcome in outcomes:
            if outcome.result is not None:
                self.runs[outcome.result.run_id] = outcome.result.action == "skipped"


def _start_parent(client, db_path: Path, kind: str, name: str, started: float) -> str:
    run = client.create_run(experiment_id(client, db_path), start_time=int(started * 1000), run_name=name,
                            tags={"polyuni.kind": kind, "polyuni.database": str(db_path.resolve())})
    return run.info.run_id


def versions() -> dict[str, str]:
    found = {}
    for package in ("polyuni-db", "gensim", "mlflow"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


@contextmanager
def study_run(db_path: Path, kind: str, name: str, settings: dict, executor: str, command: str,
              files: dict[str, str] | None = None, track: bool = True,
              lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[ParentRun]:
    """A study (``kind`` 'study') or sweep ('sweep') named ``name``: the runs logged inside the block
    are children of its MLflow run. Tell it the runs it had (``add``) and, for a study, the folder of
    its report (``report_folder``). When the block ends the study is recorded in the database, then
    logged to MLflow with its derived results; a logging failure is kept in ``mlflow_error`` and the
    study's ``mlflow_status``, for `polyuni mlflow-sync`, never raised. A block that raises records
    nothing; a parent run already created is marked FAILED (KILLED on Ctrl-C)."""
    parent = ParentRun(db_path, kind, name, settings, files or {}, executor, command)
    token = _parent.set(parent if track else None)
    try:
        yield parent
    except BaseException as error:
        if parent.mlflow_run_id is not None:
            try:
                _client(db_path).set_terminated(
                    parent.mlflow_run_id, "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED")
            except Exception:  # the study's own error is the one to show
                pass
        raise
    finally:
        _parent.reset(token)
    from polyuni_db.store.write import record_study

    wall = time.time() - parent.started
    parent.study_id = record_study(db_path, {
        "kind": kind, "name": name, "settings": parent.settings, "command": command, "executor": executor,
        "versions": versions(), "wall_seconds": wall, "mlflow_run_id": parent.mlflow_run_id,
        "mlflow_status": "pending" if track else "skipped",
        "started_at": datetime.fromtimestamp(parent.started, timezone.utc).replace(tzinfo=None),
    }, parent.runs, lock_timeout)
    if track:
        parent.mlflow_run_id, parent.mlflow_error = log_study(db_path, parent.study_id, parent.report_folder,
                                                             lock_timeout)


def _study(db_path: Path, study_id: int, lock_timeout: float) -> tuple[dict, list[dict]]:
    """A recorded study and its runs (label, run ids, reused)."""
    from polyuni_db.store.read import query_dicts

    (study,) = query_dicts(db_path, "SELECT * FROM studies WHERE study_id = ?", [study_id], lock_timeout)
    for column in ("settings", "versions"):
        study[column] = json.loads(study[column])
    runs = query_dicts(db_path, """
        SELECT r.label, r.run_id, r.mlflow_run_id, s.reused FROM study_runs AS s JOIN runs AS r USING (run_id)
        WHERE s.study_id = ? AND r.status = 'complete' ORDER BY r.run_id""", [study_id], lock_timeout)
    return study, runs


def log_study(db_path: Path, study_id: int, report_folder: Path | None = None,
              lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[str | None, str | None]:
    """Log a recorded study to MLflow, all of it (its parent run, created if missing, then settings,
    versions, wall time, runs, derived results and, for a study, its report: ``report_folder``, else
    the page rendered anew) and record how it went; (MLflow run id, one-line error or None).
    Logging it again changes nothing: metrics carry the study's start as their time, which MLflow
    keeps once, and artifacts replace themselves."""
    from mlflow.exceptions import MlflowException

    from polyuni_db.store.write import set_study_mlflow

    study, runs = _study(db_path, study_id, lock_timeout)
    mlflow_run_id = study["mlflow_run_id"]
    started = study["started_at"].replace(tzinfo=timezone.utc).timestamp()
    try:
        client = _client(db_path)
        if mlflow_run_id is not None:
            try:
                client.get_run(mlflow_run_id)
            except MlflowException:  # not in this tracking store (deleted, or another store)
                mlflow_run_id = None
        if mlflow_run_id is None:
            mlflow_run_id = _start_parent(client, db_path, study["kind"], study["name"], started)
            set_study_mlflow(db_path, study_id, mlflow_run_id, "pending", lock_timeout)
        _log_parent(client, db_path, mlflow_run_id, study, runs, int(started * 1000), report_folder, lock_timeout)
        client.set_terminated(mlflow_run_id, "FINISHED", end_time=int((started + study["wall_seconds"]) * 1000))
    except KeyboardInterrupt:
        set_study_mlflow(db_path, study_id, mlflow_run_id, "failed", lock_timeout)
        raise
    except Exception as error:  # the study is stored; `polyuni mlflow-sync` logs it later
        set_study_mlflow(db_path, study_id, mlflow_run_id, "failed", lock_timeout)
        return mlflow_run_id, (str(error).splitlines()[0] if str(error) else type(error).__name__)
    set_study_mlflow(db_path, study_id, mlflow_run_id, "logged", lock_timeout)
    return mlflow_run_id, None


def _log_parent(client, db_path: Path, run_id: str, study: dict, runs: list[dict], timestamp: int,
                report_folder: Path | None, lock_timeout: float) -> None:
    from mlflow.entities import Param, RunTag

    params = {"kind": study["kind"], "name": study["name"], "executor": study["executor"],
              **{f"version.{package}": text for package, text in study["versions"].items()},
              **flatten(study["settings"]["parameters"], "settings.")}
    params = [Param(key, value[:6000]) for key, value in params.items()]
    tags = [RunTag("polyuni.command", study["command"][:8000]), RunTag("polyuni.study_id", str(study["study_id"]))]
    for start in range(0, max(len(params), 1), BATCH_PARAMS):
        client.log_batch(run_id, params=params[start:start + BATCH_PARAMS], tags=tags if start == 0 else [])
    reused = [run for run in runs if run["reused"]]
    metrics = {"wall_seconds": study["wall_seconds"], "runs.computed": len(runs) - len(reused),
               "runs.reused": len(reused)}
    metrics.update(_comparison_metrics(db_path, study["study_id"], lock_timeout))
    metrics.update(_verdict_metrics(db_path, lock_timeout))
    _log_metrics(client, run_id, metrics, timestamp)
    for run in reused:  # a run stored before: linked from here, not logged again
        _on_child(client, run, lambda mlflow_id: client.set_tag(
            mlflow_id, f"polyuni.reused_by.{run_id}", f"{study['kind']} {study['name']}"))
    for run in runs:
        found = _run_metrics(db_path, run["run_id"], lock_timeout)
        if found:
            _on_child(client, run, lambda mlflow_id: _log_metrics(client, mlflow_id, found, timestamp))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "settings.json").write_text(json.dumps(study["settings"]["parameters"], indent=2))
        for name, text in study["settings"]["files"].items():
            (folder / Path(name).name).write_text(text, encoding="utf-8")
        with open(folder / "runs.csv", "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["label", "run_id", "mlflow_run_id", "reused"])
            writer.writerows([run["label"], run["run_id"], run["mlflow_run_id"], run["reused"]] for run in runs)
        client.log_artifacts(run_id, str(folder))
    if study["kind"] == "study":
        _log_report(client, db_path, run_id, report_folder, lock_timeout)


def _on_child(client, run: dict, action) -> None:
    """Act on a study run's MLflow run, if it has one in this tracking store (a run logged before
    MLFLOW_TRACKING_URI changed is not there)."""
    from mlflow.exceptions import MlflowException

    if run["mlflow_run_id"] is None:
        return
    try:
        action(run["mlflow_run_id"])
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise


def _log_metrics(client, run_id: str, metrics: dict[str, float], timestamp: int) -> None:
    from mlflow.entities import Metric

    # a number that could not be had (no null, a z of zero spread) is left out, not logged as NaN
    found = [Metric(key, float(value), timestamp, 0) for key, value in metrics.items()
             if value is not None and math.isfinite(value)]
    for start in range(0, len(found), BATCH_METRICS):
        client.log_batch(run_id, metrics=found[start:start + BATCH_METRICS])


def _log_report(client, db_path: Path, run_id: str, folder: Path | None, lock_timeout: float) -> None:
    """The report's page at the top of the run's artifacts, so that the UI's artifact view opens it
    (index.html holds its figures); without a folder, the page rendered anew."""
    if folder is None:
        from polyuni_db.report import render_report

        with tempfile.TemporaryDirectory() as rendered:
            client.log_artifact(run_id, str(render_report(db_path, Path(rendered), lock_timeout)))
        return
    client.log_artifact(run_id, str(Path(folder) / REPORT_PAGE))


# --- derived results --------------------------------------------------------------------------------

# Every comparison of two runs of the study, with its null, ceiling and effect size where it has them.
COMPARISONS = """
    SELECT a.label AS label_a, b.label AS label_b, s.metric, s.value, s.null_mean, s.null_sd,
           s.calibrated AS z, s.p_value, e.ceiling, e.effect_size AS effect
    FROM similarity AS s
    JOIN runs AS a ON a.run_id = s.run_a
    JOIN runs AS b ON b.run_id = s.run_b
    LEFT JOIN similarity_effect_sizes AS e ON e.label_a = a.label AND e.label_b = b.label AND e.metric = s.metric
    WHERE s.run_a IN (SELECT run_id FROM study_runs WHERE study_id = $study)
      AND s.run_b IN (SELECT run_id FROM study_runs WHERE study_id = $study)
      AND a.status = 'complete' AND b.status = 'complete'"""
COMPARISON_FIELDS = ("value", "null_mean", "null_sd", "z", "p_value", "ceiling", "effect")
# Features of two runs of the study matched, against shuffled words and beside the seeds' ceiling.
FEATURE_MATCHES = """
    SELECT label_a, label_b, atoms, nonzero, seed_a, seed_b, mean_matched_correlation, null_mean, z, p_value,
           seed_ceiling, n_matched_above_threshold
    FROM feature_universality
    WHERE label_a IN (SELECT r.label FROM study_runs JOIN runs AS r USING (run_id) WHERE study_id = $study)
      AND label_b IN (SELECT r.label FROM study_runs JOIN runs AS r USING (run_id) WHERE study_id = $study)"""
FEATURE_MATCH_FIELDS = ("mean_matched_correlation", "null_mean", "z", "p_value", "seed_ceiling",
                        "n_matched_above_threshold")


def _comparison_metrics(db_path: Path, study_id: int, lock_timeout: float) -> dict[str, float]:
    """Comparisons between the study's runs, for its parent run: ``METRIC.FIELD/A vs B``, e.g.
    ``linear_cka.effect/brown_50 vs abc_50``; the UI's chart view groups them by METRIC.FIELD."""
    from polyuni_db.store.read import query_dicts

    metrics = {}
    for row in query_dicts(db_path, COMPARISONS, {"study": study_id}, lock_timeout):
        for field in COMPARISON_FIELDS:
            metrics[metric_key(f"{row['metric']}.{field}", f"{row['label_a']} vs {row['label_b']}")] = row[field]
    for row in query_dicts(db_path, FEATURE_MATCHES, {"study": study_id}, lock_timeout):
        pair = f"{row['label_a']} vs {row['label_b']} atoms{row['atoms']} k{row['nonzero']} " \
               f"seeds{row['seed_a']}-{row['seed_b']}"
        for field in FEATURE_MATCH_FIELDS:
            metrics[metric_key(f"features.{field}", pair)] = row[field]
    return metrics


def _run_metrics(db_path: Path, run_id: int, lock_timeout: float) -> dict[str, float]:
    """What was derived from one run, for its own MLflow run: its feature sets' fit (R², dead atoms)
    and stability across dictionary seeds, and for a run with planted pseudowords their recovery
    by each instrument beside its null, and the span fit against its null."""
    from polyuni_db.store.read import query_dicts

    metrics = {}
    for row in query_dicts(db_path, """
            SELECT atoms, nonzero, seed, explained_variance, dead_atoms FROM feature_set_summary
            WHERE feature_set_id IN (SELECT feature_set_id FROM feature_sets WHERE run_id = ?)""",
                           [run_id], lock_timeout):
        setting = f"atoms{row['atoms']} k{row['nonzero']} seed{row['seed']}"
        metrics[metric_key("features.r2", setting)] = row["explained_variance"]
        metrics[metric_key("features.dead_atoms", setting)] = row["dead_atoms"]
    for row in query_dicts(db_path, """
            SELECT atoms, nonzero, seed_a, seed_b, mean_matched_cosine, share_cosine_above_0_9,
                   mean_matched_correlation FROM feature_stability
            WHERE label = (SELECT label FROM runs WHERE run_id = ?)""", [run_id], lock_timeout):
        setting = f"atoms{row['atoms']} k{row['nonzero']} seeds{row['seed_a']}-{row['seed_b']}"
        for field in ("mean_matched_cosine", "share_cosine_above_0_9", "mean_matched_correlation"):
            metrics[metric_key(f"features.stability.{field}", setting)] = row[field]
    for row in query_dicts(db_path, "SELECT * FROM pseudoword_instrument_recovery WHERE run_id = ?",
                           [run_id], lock_timeout):
        for field in ("share_both_senses", "null_share_both_senses", "share_one_sense", "null_share_one_sense",
                      "mean_hits_per_sense", "null_mean_hits_per_sense"):
            metrics[metric_key(f"recovery.{field}", row["instrument"])] = row[field]
    for row in query_dicts(db_path, "SELECT * FROM pseudoword_summary WHERE run_id = ?", [run_id], lock_timeout):
        for field in ("n_pseudowords", "mean_span_cosine", "null_mean_span_cosine", "span_margin_null_sd",
                      "mean_beta", "beta_spearman_rho", "alignment_cosine"):
            metrics[f"pseudowords.{field}"] = row[field]
    return metrics


def _verdict_metrics(db_path: Path, lock_timeout: float) -> dict[str, float]:
    """The verdict's rows (``verdict.verdict_rows``) for the study run: every number of a row as
    ``verdict.COLUMN/QUESTION``."""
    from polyuni_db.derived.verdict import verdict_rows

    columns, rows = verdict_rows(db_path, lock_timeout)
    metrics = {}
    for row in (dict(zip(columns, values)) for values in rows):
        for column, value in row.items():
            if isinstance(value, numbers.Number) and not isinstance(value, bool):  # DuckDB gives DECIMAL as Decimal
                metrics[metric_key(f"verdict.{column}", row["question"])] = float(value)
    return metrics


# --- later: the report again, and what a server missed ----------------------------------------------

def report_study_run(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[str, str]:
    """The study run a report of the database belongs to: (name, MLflow run id) of its latest study
    that reached MLflow; a one-line error when there is none."""
    from polyuni_db.store.read import has_relation, query_dicts

    found = query_dicts(db_path, """
        SELECT name, mlflow_run_id FROM studies WHERE kind = 'study' AND mlflow_run_id IS NOT NULL
        ORDER BY study_id DESC LIMIT 1""", None, lock_timeout) if has_relation(db_path, "studies", lock_timeout) else []
    if not found:
        raise PolyuniError(f"no study of {db_path} is in MLflow, so the report has no run to go to: "
                           "run `polyuni study` (or `polyuni mlflow-sync` if its logging failed)")
    return found[0]["name"], found[0]["mlflow_run_id"]


def log_report(db_path: Path, folder: Path, mlflow_run_id: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Log a rendered report (``folder``) to a study run (``report_study_run``)."""
    _log_report(_client(db_path), db_path, mlflow_run_id, folder, lock_timeout)


def study_parent_of(db_path: Path, run_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> str | None:
    """For `polyuni mlflow-sync`: the MLflow run of the study that computed a run, created if the
    tracking server was down all along; None for a run no study computed."""
    from mlflow.exceptions import MlflowException

    from polyuni_db.store.read import has_relation, query_dicts
    from polyuni_db.store.write import set_study_mlflow

    if not has_relation(db_path, "studies", lock_timeout):
        return None
    found = query_dicts(db_path, """
        SELECT s.study_id, s.kind, s.name, s.started_at, s.mlflow_run_id, s.mlflow_status
        FROM studies AS s JOIN study_runs AS r USING (study_id)
        WHERE r.run_id = ? AND NOT r.reused AND s.mlflow_status <> 'skipped'
        ORDER BY s.study_id DESC LIMIT 1""", [run_id], lock_timeout)
    if not found:
        return None
    study = found[0]
    client = _client(db_path)
    if study["mlflow_run_id"] is not None:
        try:
            client.get_run(study["mlflow_run_id"])
            return study["mlflow_run_id"]
        except MlflowException:
            pass
    started = study["started_at"].replace(tzinfo=timezone.utc).timestamp()
    mlflow_run_id = _start_parent(client, db_path, study["kind"], study["name"], started)
    status = "failed" if study["mlflow_status"] == "logged" else study["mlflow_status"]
    set_study_mlflow(db_path, study["study_id"], mlflow_run_id, status, lock_timeout)
    return mlflow_run_id


def sync_studies(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[tuple[dict, str | None, str | None]]:
    """Log every study whose logging failed or did not finish (not those run with --no-mlflow), after
    their runs (``pipeline.sync_mlflow``): (the study's kind and name, MLflow run id, error or None)."""
    from polyuni_db.store.read import has_relation, query_dicts

    if not has_relation(db_path, "studies", lock_timeout):
        return []
    studies = query_dicts(db_path, "SELECT study_id, kind, name FROM studies "
                          "WHERE mlflow_status IN ('pending', 'failed') ORDER BY study_id", None, lock_timeout)
    return [(study, *log_study(db_path, study["study_id"], None, lock_timeout)) for study in studies]
