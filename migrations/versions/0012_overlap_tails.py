"""Model overlap's p-value (``hypergeom_tail``) summed over the shorter side of the distribution and
stopped once the rest is below 1e-16 of it, so that every view built on ``model_overlap`` answers
within seconds at 1,000 runs (``scripts/bench_scale.py``); the values are those of 0002 to floating
point.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op

from polyuni_db.store import views

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# model_overlap created again with the new macro, whatever DuckDB binds when a view is created
VIEWS = ["hypergeom_pmf", "geometric_terms", "hypergeom_tail", "overlap_at", "model_overlap"]


def upgrade() -> None:
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.create(op, "0002", ["overlap_at", "model_overlap"])
    for macro in ("hypergeom_tail", "geometric_terms", "hypergeom_pmf"):
        op.execute(f"DROP MACRO IF EXISTS {macro}")
