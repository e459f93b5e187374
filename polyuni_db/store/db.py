"""Opening the findings database: the file, its lock, its schema version."""
from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import duckdb
import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from sqlalchemy.pool import NullPool

from polyuni_db.errors import PolyuniError
from polyuni_db.resources import resource_folder

class DuckDBImpl(DefaultImpl):
    """Alembic has no built-in DuckDB dialect; defining this class registers one."""

    __dialect__ = "duckdb"
    transactional_ddl = True


MIGRATIONS = resource_folder("migrations")
DEFAULT_LOCK_TIMEOUT = 60.0
T = TypeVar("T")


def default_db_path() -> Path:
    return Path(os.environ.get("POLYUNI_DB", "polyuni.duckdb"))


def can_create_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder``, tried for real (permission bits do not bind root, a
    read-only mount binds everyone)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def database_file(path: str | Path, for_writing: bool = False) -> Path:
    """``--db`` is a file path, never a URL or one of DuckDB's special names: the absolute path is what
    DuckDB and SQLAlchemy are given, so that nothing in it is decoded or read as an option."""
    text = str(path)
    if not text.strip() or text.startswith(":memory:"):
        raise PolyuniError(f"--db {text!r} is not a file path: polyuni keeps its findings in a file")
    path = Path(text).expanduser().absolute()
    if path.is_dir():
        raise PolyuniError(f"--db {path} is a folder; give the path of a database file in it")
    if for_writing and not path.exists():
        if not path.parent.is_dir():
            raise PolyuniError(f"no folder {path.parent} for the database: create it first")
        if not can_create_in(path.parent):
            raise PolyuniError(f"cannot create {path}: its folder is not writable")
    elif for_writing and not os.access(path, os.W_OK):
        raise PolyuniError(f"cannot write {path}: the file is read-only")
    return path


def _explain(error: Exception, path: Path) -> str:
    message = str(getattr(error, "orig", None) or error)
    if "not a valid DuckDB database file" in message:
        return f"{path} is not a DuckDB database"
    if "database does not exist" in message:
        return f"no database at {path}: create it with `polyuni init` or ingest a run"
    return message.splitlines()[0]


def _is_lock_conflict(error: Exception) -> bool:
    return "Could not set lock" in str(getattr(error, "orig", None) or error)


def _lock_holder(error: Exception) -> str:
    """Who holds the file, from DuckDB's message ("Conflicting lock is held in /usr/bin/python3 (PID 42)")."""
    found = re.search(r"held in (.*?\(PID \d+\))", str(getattr(error, "orig", None) or error))
    return f", held by {found.group(1)}" if found else ""


def _waiting_line(error: Exception, path: Path, lock_timeout: float) -> str:
    """What a command says when it starts waiting: "waiting for x.duckdb, held by PID 42 (python3) ..."."""
    found = re.search(r"held in (.*?) \(PID (\d+)\)", str(getattr(error, "orig", None) or error))
    holder = f", held by PID {found.group(2)} ({Path(found.group(1)).name})" if found else ""
    return f"waiting for {path.name}{holder} ... (up to {lock_timeout:g} s, --lock-timeout)"


def retry_while_locked(open_: Callable[[], T], path: Path, lock_timeout: float) -> T:
    """DuckDB lets one process write a file at a time: wait for the other, with back-off, saying so on
    stderr once (an ingest may otherwise sit silent for a minute)."""
    deadline = time.monotonic() + lock_timeout
    delay = 0.05
    said = False
    while True:
        try:
            return open_()
        except (duckdb.Error, sa.exc.DBAPIError) as error:
            if not _is_lock_conflict(error):
                raise PolyuniError(_explain(error, path)) from None
            if not said and lock_timeout > 0:
                print(_waiting_line(error, path, lock_timeout), file=sys.stderr, flush=True)
                said = True
            if time.monotonic() >= deadline:
                raise PolyuniError(
                    f"{path} is in use by another process (waited {lock_timeout:g} s){_lock_holder(error)}; "
                    "try again when it has finished, or raise --lock-timeout"
                ) from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 1.0)


def connect(
    path: str | Path | None = None, read_only: bool = True, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB connection to the findings, for notebooks, pandas and ad-hoc SQL.

    An open connection holds the file: while it is open, even read-only, no other process can write
    it (ingests and ``polyuni init`` wait, then fail naming this process). Close it when done, or use
    it as a context manager::

        with polyuni_db.connect("polyuni.duckdb") as con:
            con.sql("SELECT label, vocab_size FROM runs").df()
    """
    path = database_file(path if path is not None else default_db_path(), for_writing=not read_only)
    if read_only and not path.exists():
        raise PolyuniError(f"no database at {path}: create it with `polyuni init` or ingest a run")
    return retry_while_locked(lambda: duckdb.connect(str(path), read_only=read_only), path, lock_timeout)


@contextmanager
def sqlalchemy_connection(
    path: Path, read_only: bool = False, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> Iterator[sa.Connection]:
    """A SQLAlchemy connection that holds the file only as long as the ``with`` block."""
    path = database_file(path, for_writing=not read_only)
    if read_only and not path.exists():
        raise PolyuniError(f"no database at {path}: create it with `polyuni init` or ingest a run")
    # a URL object, not a string: SQLAlchemy would decode %xx and read ?key=value in a file name
    url = sa.engine.URL.create("duckdb", database=str(path))
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"read_only": read_only})
    try:
        connection = retry_while_locked(engine.connect, path, lock_timeout)
        try:
            yield connection
        finally:
            connection.close()
    finally:
        engine.dispose()


def alembic_config(connection: sa.Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    config = alembic_config(None)
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config(None)).get_revision(revision) is not None
    except CommandError:
        return False


def require_current_schema(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A reader upgrades nothing: a file at another schema revision is one line saying what to run."""
    try:
        found = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except duckdb.CatalogException:
        found = None
    head = head_revision()
    if found is None:
        raise PolyuniError(f"{path} has no polyuni schema: create it with `polyuni --db {path} init`")
    if found[0] != head:
        raise PolyuniError(f"{path} has schema revision {found[0]}, this polyuni reads {head}: "
                           f"upgrade it with `polyuni --db {path} init` (a newer file needs a newer polyuni)")


def upgrade(connection: sa.Connection, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic; a no-op when it is already there."""
    from alembic import command

    current = current_revision(connection)
    if current is not None and not _known_revision(current):
        raise PolyuniError(
            f"the database is at schema revision {current}, newer than this polyuni knows (up to "
            f"{head_revision()}): upgrade polyuni-db to use it"
        )
    if revision != "head" or current != head_revision():
        command.upgrade(alembic_config(connection), revision)
    connection.commit()  # end the transaction the revision check began
