"""Below both writers (``write`` for runs, ``features`` for feature sets): bulk rows inserted by
their declared columns, and the fault-injection hook of their transactions."""
from __future__ import annotations

import os
import sys
import time

import pyarrow as pa
import sqlalchemy as sa

from polyuni_db.store.schema import Base


def insert_rows(connection: sa.Connection, table: str, run_id: int, rows: pa.Table, key: str = "run_id") -> None:
    """Bulk rows of one run (or other ``key``, e.g. a feature set) go through DuckDB's Arrow scan,
    not row-by-row ORM inserts. The columns named in the SQL are the table's declared ones, quoted,
    never names read from ``rows`` (which may come from a bundle); a column not declared is refused."""
    declared = [column.name for column in Base.metadata.tables[table].columns if column.name != key]
    if unknown := set(rows.column_names) - set(declared):
        raise ValueError(f"{table} has no column {sorted(unknown)[0]!r}")
    columns = [column for column in declared if column in rows.column_names]
    duck = connection.connection.driver_connection
    quoted = ", ".join(f'"{column}"' for column in columns)
    duck.register("incoming_rows", rows)
    try:
        duck.execute(f'INSERT INTO "{table}" ("{key}", {quoted}) SELECT ?, {quoted} FROM incoming_rows', [run_id])
    finally:
        duck.unregister("incoming_rows")


def hold_for_fault_tests() -> None:
    """Fault injection: with POLYUNI_TEST_HOLD_WRITE=S, wait S seconds with every row written but
    not committed, after saying so on stderr, so that a test can kill the process right there."""
    seconds = os.environ.get("POLYUNI_TEST_HOLD_WRITE")
    if seconds:
        print("polyuni: holding the write transaction open", file=sys.stderr, flush=True)
        time.sleep(float(seconds))
