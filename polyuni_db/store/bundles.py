"""The committer: imports published run bundles into DuckDB, one short transaction each.

Idempotent by fingerprint: a bundle whose run is stored changes nothing (unless forced), so a
bundle imported twice, or published twice by a task that ran twice, gives one run.
"""
from __future__ import annotations

from pathlib import Path

import duckdb

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import Bundle
from polyuni_db.runs.labels import shown
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.vectors import discard_vectors, keep_bundle_vectors
from polyuni_db.store.write import WriteOutcome, stored_run, write_run


def import_bundle(db_path: Path, bundle: Bundle, track: bool = True, force: bool = False,
                  lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> WriteOutcome:
    """Store the bundle's run and rows; 'skipped' when its fingerprint is stored already."""
    label, fingerprint = bundle.run["label"], bundle.fingerprint
    if stored := stored_run(db_path, label, fingerprint, lock_timeout, force):
        return WriteOutcome(stored.run_id, "skipped", stored.label)
    tables = bundle.tables()  # rows that do not decode are refused before anything is written
    vectors_path, new_vectors = keep_bundle_vectors(db_path, fingerprint, bundle.vectors_file, bundle.vectors_by_reference)
    run = {**bundle.run, "mlflow_run_id": None, "mlflow_status": "pending" if track else "skipped",
           "vectors_path": vectors_path}
    try:
        return write_run(db_path, run, tables, force=force, lock_timeout=lock_timeout)
    except (duckdb.ConstraintException, duckdb.ConversionException) as error:  # rows of the declared
        # types that the tables' keys still refuse (a word twice in word_stats, a null where none may be)
        if new_vectors:
            discard_vectors(db_path, vectors_path)
        raise PolyuniError(f"{shown(bundle.path)} is not a valid run bundle: its rows break the database's "
                           f"constraints ({shown(str(error).splitlines()[0])})") from None
    except BaseException:  # the run is not stored (a conflict, the lock, Ctrl-C): neither are its vectors
        if new_vectors:
            discard_vectors(db_path, vectors_path)
        raise
