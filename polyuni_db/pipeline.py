"""Ingesting a run: load or train, analyse, then write in one short transaction, then log to MLflow.

Work is done before the database is opened for writing, so other commands wait seconds, not minutes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from time import perf_counter

from polyuni_db.findings import AnalysisSettings, analyse
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, database_file
from polyuni_db.store.vectors import discard_vectors, keep_vectors
from polyuni_db.store.write import set_mlflow, stored_run, write_run

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


def fingerprint(parameters: dict) -> str:
    """SHA-256 of the canonical JSON of everything that determines a run's rows."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode("utf-8")).hexdigest()


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
    """Ingest one run; a run whose fingerprint is already stored is skipped unless ``force``."""
    label = label or source.default_label()
    parameters = {"vectors": source.spec(), "analysis": settings.spec()}
    run_fingerprint = fingerprint(parameters)
    db_path = database_file(db_path, for_writing=True)  # before any work: the folder must take it
    if stored := stored_run(db_path, label, run_fingerprint, lock_timeout, force):
        return IngestResult(stored.label, stored.run_id, "skipped")

    started = perf_counter()
    embedding = source.load(progress)
    loaded = perf_counter()
    findings = analyse(embedding, settings)
    analysed = perf_counter()
    vectors_path, new_vectors = keep_vectors(db_path, run_fingerprint, embedding.vectors)
    run = {
        "label": label,
        "fingerprint": run_fingerprint,
        "source": source.kind,
        **source.run_columns(),
        "dim": embedding.dim,
        "top_k": settings.top_k,
        "parameters": parameters,
        **findings.summary,
        "load_seconds": loaded - started,
        "analysis_seconds": analysed - loaded,
        "mlflow_run_id": None,
        "mlflow_status": "pending" if track else "skipped",
        "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
        "vectors_path": vectors_path,
    }
    notes = tuple(
        f"{a}:{b} ({'missing ' + missing if missing else status})"
        for a, b, status, missing in zip(*findings.tables["difference_pairs"].to_pydict().values())
        if status != "computed"
    )
    progress(0, 1, f"writing {label}")
    try:
        outcome = write_run(db_path, run, findings.tables, force=force, lock_timeout=lock_timeout)
    except BaseException:  # the run is not stored (a conflict, the lock, Ctrl-C): neither are its vectors
        if new_vectors:
            discard_vectors(db_path, vectors_path)
        raise
    progress(1, 1, f"writing {label}")
    if outcome.action == "skipped" or not track:
        return IngestResult(outcome.label, outcome.run_id, outcome.action, notes=notes)

    metrics = {key: run[key] for key in METRIC_COLUMNS}
    metrics["ingest_seconds"] = perf_counter() - started
    mlflow_run_id, mlflow_error = _track(
        db_path, outcome.run_id, label, {**parameters, "fingerprint": run_fingerprint, "metadata": embedding.metadata},
        metrics, {name: findings.tables[name] for name in ARTIFACT_TABLES if name in findings.tables}, lock_timeout,
    )
    return IngestResult(label, outcome.run_id, outcome.action, mlflow_run_id, mlflow_error, notes)


def _track(db_path: Path, run_id: int, label: str, parameters: dict, metrics: dict, artifacts: dict,
           lock_timeout: float) -> tuple[str | None, str | None]:
    """Log to MLflow and record the outcome in ``runs``; a failure is recorded, never raised."""
    from polyuni_db.tracking import log_run

    try:
        mlflow_run_id = log_run(db_path, label, parameters, metrics, artifacts, run_id)
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
    """Log to MLflow every stored run whose logging failed or never happened (not `--no-mlflow` ones)."""
    from polyuni_db.store.read import unlogged_runs

    results = []
    for run, artifacts in unlogged_runs(db_path, ARTIFACT_TABLES, lock_timeout):
        metrics = {key: run[key] for key in METRIC_COLUMNS}
        parameters = {**run["parameters"], "fingerprint": run["fingerprint"]}
        mlflow_run_id, error = _track(db_path, run["run_id"], run["label"], parameters, metrics, artifacts, lock_timeout)
        results.append(IngestResult(run["label"], run["run_id"], "synced", mlflow_run_id, error))
    return results
