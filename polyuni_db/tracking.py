"""MLflow logging of runs: parameters, metrics and the findings as artifacts."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

EXPERIMENT = "polyuni-db"
# MLflow's own HTTP settings, used unless the user set them: a tracking server that is down costs
# seconds, not MLflow's defaults of a 120 s timeout and 7 retries with back-off.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}


def tracking_uri(db_path: Path) -> str:
    """MLFLOW_TRACKING_URI when set, else a sqlite store beside the DuckDB file."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{_sibling(db_path, '.mlflow.sqlite')}"


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


def _check_reachable(uri: str) -> None:
    """Fail at once where MLflow would retry for minutes: a sqlite store it cannot create or write."""
    if not uri.startswith("sqlite:///"):
        return
    from polyuni_db.store.db import can_create_in

    store = Path(uri[len("sqlite:///"):])
    if not can_create_in(store.parent):  # sqlite writes a journal beside the store
        raise PermissionError(f"cannot write the MLflow store {store}: its folder is not writable")


def log_run(
    db_path: Path, label: str, parameters: dict, metrics: dict[str, float], artifacts: dict[str, pa.Table],
    polyuni_run_id: int | None = None,
) -> str:
    """Log one run and return its MLflow run id. Raises whatever MLflow raises. The MLflow run is named
    by the label and tagged with the label and polyuni's ``run_id``."""
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow.utils.time import get_current_time_millis

    # MLflow narrates migrating its sqlite store at INFO, and each HTTP retry at WARNING
    for name in ("alembic", "mlflow", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)

    uri = tracking_uri(db_path)
    _check_reachable(uri)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        artifact_location = None  # an MLflow server keeps artifacts itself (--serve-artifacts)
        if not uri.startswith(("http://", "https://")):  # a database store (sqlite, PostgreSQL): beside
            artifact_location = _sibling(db_path, ".mlflow-artifacts").as_uri()  # ours, not in the cwd
        experiment_id = client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    else:
        experiment_id = experiment.experiment_id
    tags = {"polyuni.database": str(db_path.resolve()), "polyuni.label": label}
    if polyuni_run_id is not None:
        tags["polyuni.run_id"] = str(polyuni_run_id)
    run = client.create_run(experiment_id, run_name=label, tags=tags)
    run_id = run.info.run_id
    try:
        now = get_current_time_millis()
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
