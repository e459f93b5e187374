"""Reading the findings: the schema version, the runs, and read-only ad-hoc SQL."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import sqlalchemy as sa

from polyuni_db.analysis.ranking import rankable, row_norms
from polyuni_db.errors import PolyuniError
from polyuni_db.store.db import (
    DEFAULT_LOCK_TIMEOUT, connect, current_revision, database_file, sqlalchemy_connection, upgrade,
)
from polyuni_db.store.schema import FeatureSet, Run
from polyuni_db.store.vectors import load_vectors, sweep_vectors

RUN_COLUMNS = (
    Run.run_id, Run.label, Run.source, Run.model_name, Run.corpus, Run.dim, Run.seed, Run.vocab_size,
    Run.n_untrained, Run.status, Run.mlflow_status, Run.created_at,
)


def init(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> str:
    """Create the database or upgrade it to the newest schema, and sweep the kept vectors of runs (and
    dictionaries of feature sets) that are not stored (failed, killed or replaced ones); returns the
    revision."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        referenced = set(connection.execute(sa.select(Run.vectors_path)).scalars())
        # feature sets keep their dictionaries in the same folder
        referenced |= set(connection.execute(sa.select(FeatureSet.dictionary_path)).scalars())
        sweep_vectors(database_file(path), referenced)
        return current_revision(connection)


def list_runs(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, like: str | None = None,
              source: str | None = None, corpus: str | None = None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of the stored runs, in the order they were stored; ``like`` is a SQL LIKE
    pattern on the label, ``source`` and ``corpus`` must equal the run's."""
    columns = [column.key for column in RUN_COLUMNS]
    with sqlalchemy_connection(path, read_only=True, lock_timeout=lock_timeout) as connection:
        if not sa.inspect(connection).has_table("runs"):
            return columns, []
        query = sa.select(*RUN_COLUMNS).order_by(Run.run_id)
        if like is not None:
            query = query.where(Run.label.like(like))
        if source is not None:
            query = query.where(Run.source == source)
        if corpus is not None:
            query = query.where(Run.corpus == corpus)
        return columns, [tuple(row) for row in connection.execute(query)]


# What `polyuni sql` runs: queries (SHOW, DESCRIBE, SUMMARIZE and PRAGMA are SELECTs to DuckDB).
QUERY_STATEMENTS = (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN)


def single_query(query: str) -> duckdb.Statement:
    """The one query in ``query``; more than one statement, none, or one that is not a query is an error."""
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as error:
        raise PolyuniError(str(error)) from None
    if not statements:
        raise PolyuniError("no SQL statement given")
    if len(statements) > 1:
        raise PolyuniError(f"{len(statements)} statements given; polyuni sql runs one query at a time")
    kind = statements[0].type
    if kind == duckdb.StatementType.EXPLAIN:  # EXPLAIN ANALYZE runs what it explains: that must be a query too
        explained = re.sub(r"^\s*EXPLAIN\s+(ANALY[SZ]E\s+)?(\([^)]*\)\s*)?", "", statements[0].query, flags=re.I)
        kind = duckdb.extract_statements(explained)[0].type if explained.strip() else kind
    if kind not in QUERY_STATEMENTS:
        raise PolyuniError(
            f"polyuni sql is read-only: it runs queries, and {kind.name} is not one; nothing was changed"
        )
    return statements[0]


@contextmanager
def sandboxed_connection(
    path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, read_folders: tuple[Path, ...] = (),
    attach: tuple[Path, ...] = (),
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection that can touch nothing outside the database: DuckDB's external access
    (files, other databases, extensions, the network) is off and the setting locked. ``attach``
    names databases to attach read-only (as their file stem); ``read_folders`` may be read from."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        try:
            for other in attach:
                other = database_file(other)
                if not other.is_file():
                    raise PolyuniError(f"--attach {other}: no such database file")
                connection.execute(f"ATTACH {_literal(other)} AS {_identifier(other.stem)} (READ_ONLY)")
            if read_folders:
                folders = ", ".join(_literal(Path(folder).absolute()) for folder in read_folders)
                connection.execute(f"SET allowed_directories = [{folders}]")
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
        except duckdb.Error as error:
            raise PolyuniError(str(error).splitlines()[0]) from None
        yield connection
    finally:
        connection.close()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def stream_query(
    path: Path, query: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT, batch_rows: int = 10_000,
    read_folders: tuple[Path, ...] = (), attach: tuple[Path, ...] = (),
) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
    """(column names, batches of at most ``batch_rows`` rows) of one read-only query: rows are fetched
    as they are consumed, so a result of any size never sits whole in memory. DuckDB's errors are
    kept whole (its "Did you mean" and the caret under the mistake)."""
    statement = single_query(query)
    with sandboxed_connection(path, lock_timeout, read_folders, attach) as connection:
        try:
            result = connection.execute(statement.query)
        except duckdb.Error as error:
            hint = ""
            if "disabled by configuration" in str(error):
                hint = "\n(polyuni sql reaches no file outside the database: --read-files DIR or --attach DB allows it)"
            raise PolyuniError(str(error).strip() + hint) from None

        def batches() -> Iterator[list[tuple]]:
            while True:
                try:
                    rows = result.fetchmany(batch_rows)
                except duckdb.Error as error:
                    raise PolyuniError(str(error).strip()) from None
                if not rows:
                    return
                yield rows

        yield [column[0] for column in result.description or ()], batches()


def read_only_query(path: Path, query: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[list[str], list[tuple]]:
    """The whole result of one read-only query (for small results: the report, tests)."""
    with stream_query(path, query, lock_timeout) as (columns, batches):
        return columns, [row for batch in batches for row in batch]


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


def planted_pairs(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[tuple[str, str]]:
    """(run, reference) labels of every complete run whose pseudowords were measured against a reference."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        return connection.execute(
            "SELECT r.label, ref.label FROM pseudoword_alignment AS a JOIN runs AS r USING (run_id) "
            "JOIN runs AS ref ON ref.run_id = a.reference_run_id "
            "WHERE r.status = 'complete' AND ref.status = 'complete' ORDER BY r.label").fetchall()
    finally:
        connection.close()


def pseudoword_null_pairs(path: Path, run_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[dict]:
    """A run's measured pseudowords (token, words, counts) with the null pair set beside each."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        return connection.execute(
            "SELECT p.token, p.word_a, p.word_b, p.count_a, p.count_b, f.null_word_a, f.null_word_b FROM pseudowords AS p "
            "JOIN pseudoword_fits AS f USING (run_id, token) WHERE p.run_id = ? ORDER BY p.token",
            [run_id]).to_arrow_table().to_pylist()
    finally:
        connection.close()


def query_dicts(path: Path, query: str, parameters: list | None = None,
                lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[dict]:
    """The rows of one of our own queries, values passed as parameters (never pasted into the SQL)."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        return connection.execute(query, parameters or []).to_arrow_table().to_pylist()
    finally:
        connection.close()


def has_relation(path: Path, name: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> bool:
    """Whether the database has a table or view of this name (a view a later revision adds)."""
    return bool(query_dicts(path, "SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name],
                            lock_timeout))


def recorded_experiment(path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[str, str | None] | None:
    """(name, id) of the MLflow experiment the database logged to last, or None (no database, none
    recorded, or a schema older than revision 0009: its writer records 'polyuni-db' on upgrade)."""
    if not database_file(path).exists() or not has_relation(path, "mlflow_experiment", lock_timeout):
        return None
    found = query_dicts(path, "SELECT experiment_name, experiment_id FROM mlflow_experiment", None, lock_timeout)
    return (found[0]["experiment_name"], found[0]["experiment_id"]) if found else None
