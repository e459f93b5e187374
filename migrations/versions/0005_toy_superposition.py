"""Toy models that train: how far training moved each vector, each pair's cosine before training,
Elhage et al.'s superposition measures per word, and the views that ask whether a pair's
superposition is shared across seeds.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIEWS = ["run_configuration", "run_superposition", "pair_interference"]


def upgrade() -> None:
    # Rows stored before this revision keep their old `trained` (the word had a context word) and
    # no `moved`: re-ingest with --force to get the new meaning (training changed the vector).
    op.add_column("word_stats", sa.Column("moved", sa.Double))
    op.add_column("pair_geometry", sa.Column("initial_cosine", sa.Double))
    op.create_table(
        "word_superposition",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, primary_key=True),
        sa.Column("dimensionality", sa.Double),
        sa.Column("dimensionality_unit", sa.Double),
        sa.Column("max_interference", sa.Double),
    )
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    op.drop_table("word_superposition")
    op.drop_column("pair_geometry", "initial_cosine")
    op.drop_column("word_stats", "moved")
