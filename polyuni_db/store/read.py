"""Reading the findings: the schema version, the runs, and read-only ad-hoc SQL."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import numpy as np
import sqlalchemy as sa

from polyuni_db.analysis.ranking import rankable, row_norms
from polyuni_db.errors import PolyuniError
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, connect, current_revision, sqlalchemy_connection, upgrade
from polyuni_db.store.schema import Run
from polyuni_db.store.vectors import load_vectors

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


@dataclass(frozen=True)
class StoredRun:
    """A stored run with its kept vectors: rows of ``vectors`` are ``words`` in vocabulary order."""

    run_id: int
    label: str
    fingerprint: str
    corpus: str | None
    parameters: dict
    words: list[str]
    vectors: np.ndarray
    ranks: np.ndarray
    counts: np.ndarray | None
    trained: np.ndarray | None
    moved: np.ndarray | None

    @cached_property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    @cached_property
    def rankable(self) -> np.ndarray:
        """Rows whose vector has a direction (not zero, not NaN or infinite)."""
        return rankable(row_norms(self.vectors))


def load_run(path: Path, label: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> StoredRun:
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        found = connection.execute(
            "SELECT run_id, fingerprint, corpus, parameters, vectors_path FROM runs "
            "WHERE label = ? AND status = 'complete'", [label]).fetchone()
        if found is None:
            raise PolyuniError(f"no run labelled {label!r} in {path} (see `polyuni runs`)")
        run_id, fingerprint, corpus, parameters, vectors_path = found
        stats = connection.execute(
            "SELECT word, rank, count, trained, moved FROM word_stats WHERE run_id = ? ORDER BY rank", [run_id]
        ).to_arrow_table()
    finally:
        connection.close()
    vectors = load_vectors(path, vectors_path, label)
    words = stats.column("word").to_pylist()
    if vectors.shape[0] != len(words):
        raise PolyuniError(f"the kept vectors of {label!r} do not match its words; re-ingest it with --force")
    def column(name: str) -> np.ndarray | None:
        values = stats.column(name)
        return None if values.null_count == len(values) else values.to_numpy(zero_copy_only=False)

    return StoredRun(
        run_id, label, fingerprint, corpus, json.loads(parameters), words, vectors,
        stats.column("rank").to_numpy(), column("count"), column("trained"), column("moved"),
    )
