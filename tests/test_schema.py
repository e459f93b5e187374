"""The schema is made by Alembic migrations and matches the SQLAlchemy models."""
from __future__ import annotations

import duckdb

from polyuni_db.store.db import head_revision
from polyuni_db.store.read import init
from polyuni_db.store.schema import Base


def test_models_match_the_newest_migration(db):
    """Every table and column of the models, with its type and nullability, and nothing else."""
    from duckdb_engine import Dialect

    assert init(db) == head_revision()
    with duckdb.connect(str(db), read_only=True) as connection:
        migrated = {
            (table, column): (data_type, nullable == "YES")
            for table, column, data_type, nullable in connection.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                "WHERE table_name <> 'alembic_version'"
            ).fetchall()
        }
    dialect = Dialect()
    aliases = {"DOUBLE PRECISION": "DOUBLE", "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP"}  # same types
    modelled = {
        (table.name, column.name): (column.type.compile(dialect=dialect), column.nullable)
        for table in Base.metadata.sorted_tables
        for column in table.columns
    }
    assert {key: (aliases.get(t, t), n) for key, (t, n) in migrated.items()} == {
        key: (aliases.get(t, t), n) for key, (t, n) in modelled.items()
    }


def test_init_is_idempotent(db):
    assert init(db) == init(db) == head_revision()
