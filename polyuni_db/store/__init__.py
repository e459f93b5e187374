"""Storage: the DuckDB schema (SQLAlchemy models, Alembic migrations) and the writes of a run."""
