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


def log_run(
    db_path: Path, label: str, parameters: dict, metrics: dict[str, float], artifacts: dict[str, pa.Table]
) -> str:
    """Log one run and return its MLflow run id. Raises whatever MLflow raises."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient
    from mlflow.utils.time import get_current_time_millis

    for name in ("alembic", "mlflow"):  # MLflow narrates migrating its sqlite store at INFO
        logging.getLogger(name).setLevel(logging.WARNING)

    uri = tracking_uri(db_path)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        artifact_location = None  # an MLflow server keeps artifacts itself (--serve-artifacts)
        if not uri.startswith(("http://", "https://")):  # a database store (sqlite, PostgreSQL): beside
            artifact_location = _sibling(db_path, ".mlflow-artifacts").as_uri()  # ours, not in the cwd
        experiment_id = client.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    else:
        experiment_id = experiment.experiment_id
    run = client.create_run(experiment_id, run_name=label, tags={"polyuni.database": str(db_path.resolve())})
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
