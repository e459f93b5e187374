"""Alembic environment for the findings database (DuckDB through duckdb_engine).

polyuni runs migrations itself (`polyuni init`, and before the first write to an empty or older
file), passing its open connection in ``config.attributes["connection"]``.
"""
from alembic import context
from sqlalchemy import create_engine

import polyuni_db.store.db  # noqa: F401  (registers Alembic's DuckDB dialect)


def run_migrations(connection) -> None:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url")).connect() as connection:
        run_migrations(connection)
