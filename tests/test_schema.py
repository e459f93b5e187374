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
                "JOIN information_schema.tables USING (table_schema, table_name) "
                "WHERE table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
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


def test_an_older_database_upgrades_with_every_row_kept(tmp_path):
    """A file made at every earlier revision, with rows, upgrades to the newest."""
    from alembic.script import ScriptDirectory

    from polyuni_db.runs.findings import AnalysisSettings
    from polyuni_db.runs.pipeline import ingest
    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.trained import TrainedSource
    from polyuni_db.store.db import alembic_config, sqlalchemy_connection, upgrade

    source_db = tmp_path / "source.duckdb"
    ingest(TrainedSource(load_corpus("corpus_bark"), 2, 1), source_db, settings=AnalysisSettings(top_k=2), track=False)
    tables = [table.name for table in Base.metadata.sorted_tables]
    revisions = [script.revision for script in ScriptDirectory.from_config(alembic_config(None)).walk_revisions()]
    for revision in revisions[1:]:  # every revision before head
        old = tmp_path / f"at_{revision}.duckdb"
        with sqlalchemy_connection(old) as connection:
            upgrade(connection, revision)
        with duckdb.connect(str(old)) as connection:
            connection.execute(f"ATTACH '{source_db}' AS source (READ_ONLY)")
            present = {table: [name for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()] for table in tables}
            present = {table: columns for table, columns in present.items() if columns}
            assert "runs" in present
            for table, columns in present.items():  # the columns that revision had
                names = ", ".join(f'"{c}"' for c in columns)
                connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM source.{table}")
        assert init(old) == head_revision()
        with duckdb.connect(str(old), read_only=True) as connection, \
                duckdb.connect(str(source_db), read_only=True) as source:
            for table, columns in present.items():
                names = ", ".join(f'"{c}"' for c in columns)
                query = f"SELECT {names} FROM {table} ORDER BY ALL"
                assert connection.execute(query).fetchall() == source.execute(query).fetchall()
            assert connection.execute("SELECT count(*) FROM run_summary").fetchone() == (1,)
