"""Reading the findings: the schema version, the runs, and read-only ad-hoc SQL."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import sqlalchemy as sa

from polyuni_db.errors import PolyuniError
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, connect, current_revision, sqlalchemy_connection, upgrade
from polyuni_db.store.schema import Run

RUN_COLUMNS = (
    Run.run_id, Run.label, Run.source, Run.model_name, Run.corpus, Run.dim, Run.seed, Run.vocab_size,
    Run.n_untrained, Run.status, Run.mlflow_status, Run.created_at,
)


def init(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> str:
    """Create the database or upgrade it to the newest schema; returns the revision."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        return current_revision(connection)


def list_runs(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[dict]:
    with sqlalchemy_connection(path, read_only=True, lock_timeout=lock_timeout) as connection:
        if not sa.inspect(connection).has_table("runs"):
            return []
        result = connection.execute(sa.select(*RUN_COLUMNS).order_by(Run.run_id))
        return [dict(row._mapping) for row in result]


def read_only_query(path: Path, query: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[list[str], list[tuple]]:
    """Run SQL on a read-only connection: a statement that writes fails and changes nothing."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        result = connection.execute(query)
        if result.description is None:
            return [], []
        return [column[0] for column in result.description], result.fetchall()
    except duckdb.Error as error:
        message = str(error).splitlines()[0]
        if "read-only mode" in message:
            raise PolyuniError(f"polyuni sql is read-only and this statement writes; nothing was changed ({message})") from None
        raise PolyuniError(message) from None
    finally:
        connection.close()


def unlogged_runs(path: Path, artifact_tables: tuple[str, ...], lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
    """Runs whose MLflow logging failed or is pending, each with its findings as Arrow tables."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        result = connection.execute(
            "SELECT * FROM runs WHERE status = 'complete' AND mlflow_status IN ('failed', 'pending') ORDER BY run_id")
        columns = [column[0] for column in result.description]
        runs = [dict(zip(columns, row)) for row in result.fetchall()]
        found = []
        for run in runs:
            run["parameters"] = json.loads(run["parameters"])
            artifacts = {}
            for table in artifact_tables:
                # run_id is the table's first column; MLflow gets the rest
                rows = connection.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?", [run["run_id"]])
                artifacts[table] = rows.to_arrow_table()
            found.append((run, artifacts))
        return found
    finally:
        connection.close()
