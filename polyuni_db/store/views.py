"""The SQL views and table macros, one per .sql file under sql/<revision that created it>/.

A migration creates the files of its own revision, so an old migration always creates what it
created when it was written, whatever later revisions change.
"""
from __future__ import annotations

from pathlib import Path

SQL = Path(__file__).parent / "sql"


def statement(revision: str, name: str) -> str:
    return (SQL / revision / f"{name}.sql").read_text(encoding="utf-8")


def create(op, revision: str, names: list[str]) -> None:
    """Create views and macros in the order given (later ones may use earlier ones)."""
    for name in names:
        op.execute(statement(revision, name))


def drop(op, revision: str, names: list[str]) -> None:
    """Drop them in reverse order; a macro is dropped as a macro, a view as a view."""
    for name in reversed(names):
        kind = "MACRO TABLE" if "CREATE OR REPLACE MACRO" in statement(revision, name) else "VIEW"
        op.execute(f"DROP {kind} IF EXISTS {name}")
