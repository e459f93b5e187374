"""Ingesting a run: compute its bundle (load or train, analyse; see ``polyuni_db.runs.bundle``), then
commit it: import it in one short transaction, then log it to MLflow.

Work is done before the database is opened for writing, so other commands wait seconds, not minutes.
Sweeps (``polyuni_db.runs.sweep``) compute bundles on Dask workers and commit them here, one at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import (
    compute_run,
    fingerprint,
    process_record,
    read_bundle,
    remove_stale_work_folders,
    work_folder,
)
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.labels import label_problem, shown
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.store.bundles import import_bundle
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, database_file
from polyuni_db.store.write import set_mlflow, stored_run

# Findings logged to MLflow as CSV artifacts (word_stats is too large to be useful there).
ARTIFACT_TABLES = ("dimension_words", "difference_pairs", "difference_neighbours")
METRIC_COLUMNS = ("vocab_size", "mean_norm", "n_untrained", "n_unrankable", "load_seconds", "analysis_seconds")


@dataclass(frozen=True)
class IngestResult:
    label: str
    run_id: int
    action: str  # 'ingested' | 'replaced' | 'skipped' | 'synced'
    mlflow_run_id: str | None = None
    mlflow_error: str | None = None
    notes: tuple[str, ...] = ()  # the pairs that could not be computed, and why


def run_identity(source: Source, label: str | None, settings: AnalysisSettings) -> tuple[str, dict, str]:
    """(label, parameters, fingerprint) of a run, cheaply, before any loading or training."""
    parameters = {"vectors": source.spec(), "analysis": settings.spec()}
    label = label or source.default_label()
    if problem := label_problem(label):  # also a label made from a corpus' file name
        raise PolyuniError(f"{shown(label)!r} is not a label: {problem}")
    return label, parameters, fingerprint(parameters)


def ingest(
    source: Source,
    db_path: Path,
    label: str | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
    track: bool = True,
    force: bool = False,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> IngestResult:
    """Ingest one run in this process: compute its bundle, then commit it. A run whose fingerprint
    is already stored is skipped unless ``force``."""
    label, parameters, run_fingerprint = run_identity(source, label, settings)
    db_path = database_file(db_path, for_writing=True)  # before any work: the folder must take it
    if stored := stored_run(db_path, label, run_fingerprint, lock_timeout, force):
        return IngestResult(stored.label, stored.run_id, "skipped")
    remove_stale_work_folders(db_path)
    # beside the database, so that the committer links the vectors into place instead of copying
    with work_folder(db_path, "bundle") as folder:
        folder, vectors_source = compute_run(source, label, parameters, run_fingerprint, settings, folder, progress)
        return commit_bundle(db_path, folder, track=track, force=force, progress=progress, lock_timeout=lock_timeout,
                             vectors_source=vectors_source)


def commit_bundle(db_path: Path, path: Path, track: bool = True, force: bool = False,
                  progress: Progress = no_progress, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                  vectors_source: Path | None = None) -> IngestResult:
    """Check a published bundle, import it into the database, then log the run to MLflow.
    ``vectors_source``: the .npy this process memory-mapped the vectors from (see ``read_bundle``)."""
    started = perf_counter()
    bundle = read_bundle(path, vectors_source)
    label = bundle.run["label"]
    progress(0, 1, f"writing {label}")
    outcome = import_bundle(db_path, bundle, track=track, force=force, lock_timeout=lock_timeout)
    progress(1, 1, f"writing {label}")
    if outcome.action == "skipped" or not track:
        return IngestResult(outcome.label, outcome.run_id, outcome.action, notes=bundle.notes)

    metrics = {key: bundle.run[key] for key in METRIC_COLUMNS}
    metrics["ingest_seconds"] = bundle.compute_seconds + perf_counter() - started
    # the process records as MLflow parameters driver.* and worker.*; the rest of the metadata as metadata.*
    metadata = {key: value for key, value in bundle.metadata.items() if key != "worker"}
    parameters = {**bundle.run["parameters"], "fingerprint": bundle.fingerprint, "metadata": metadata,
                  "worker": bundle.metadata.get("worker", {}), "driver": process_record()}
    mlflow_run_id, mlflow_error = _track(
        db_path, outcome.run_id, label, parameters, metrics, bundle.tables(ARTIFACT_TABLES), lock_timeout)
    return IngestResult(label, outcome.run_id, outcome.action, mlflow_run_id, mlflow_error, bundle.notes)


def _track(db_path: Path, run_id: int, label: str, parameters: dict, metrics: dict, artifacts: dict,
           lock_timeout: float, parent_of_study: bool = False) -> tuple[str | None, str | None]:
    """Log to MLflow and record the outcome in ``runs``; a failure is recorded, never raised. The
    MLflow run is the child of the study or sweep under way, if any, or (``parent_of_study``, for
    runs logged late) of the study that computed it."""
    from polyuni_db.runs.tracking import log_run, study_parent_of

    try:
        parent = study_parent_of(db_path, run_id, lock_timeout) if parent_of_study else None
        mlflow_run_id = log_run(db_path, label, parameters, metrics, artifacts, run_id, parent)
    except KeyboardInterrupt:  # the findings are stored: say so, not that nothing was kept
        set_mlflow(db_path, run_id, None, "failed", lock_timeout)
        raise KeyboardInterrupt(
            f"interrupted while logging to MLflow; run {run_id} ({label}) is stored, "
            "`polyuni mlflow-sync` logs it") from None
    except Exception as error:  # the findings are stored; `polyuni mlflow-sync` can log them later
        set_mlflow(db_path, run_id, None, "failed", lock_timeout)
        return None, str(error).splitlines()[0] if str(error) else type(error).__name__
    set_mlflow(db_path, run_id, mlflow_run_id, "logged", lock_timeout)
    return mlflow_run_id, None


def sync_mlflow(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[IngestResult]:
    """Log to MLflow every stored run whose logging failed or never happened (not `--no-mlflow` ones),
    each as the child of the study that computed it; then ``tracking.sync_studies`` logs the studies."""
    from polyuni_db.store.read import unlogged_runs

    results = []
    for run, artifacts in unlogged_runs(db_path, ARTIFACT_TABLES, lock_timeout):
        metrics = {key: run[key] for key in METRIC_COLUMNS}
        parameters = {**run["parameters"], "fingerprint": run["fingerprint"]}
        mlflow_run_id, error = _track(db_path, run["run_id"], run["label"], parameters, metrics, artifacts, lock_timeout,
                                      parent_of_study=True)
        results.append(IngestResult(run["label"], run["run_id"], "synced", mlflow_run_id, error))
    return results
