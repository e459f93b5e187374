"""Views over the findings: dimension-word sets and cross-model overlap with a chance baseline,
duplicates, side-by-side difference neighbours, small-model geometry, run summary.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from polyuni_db.store import views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Dependency order: a view after the macros it calls.
VIEWS = [
    "run_summary",
    "dimension_word_set_at",
    "dimension_word_sets",
    "overlap_at",
    "model_overlap",
    "duplicate_dimension_words",
    "difference_comparison",
    "pair_geometry_summary",
]


def upgrade() -> None:
    from alembic import op

    views.create(op, revision, VIEWS)


def downgrade() -> None:
    from alembic import op

    views.drop(op, revision, VIEWS)
