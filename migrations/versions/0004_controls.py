"""Controls: each run's kept vectors, filtered dimension words, basis-invariant similarity, and the
views that attribute overlap to untrained and frequent words.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VIEWS = ["similarity_scores", "overlap_attribution", "dimension_word_frequency", "filtered_overlap", "sweep_pairs"]


def upgrade() -> None:
    op.add_column("runs", sa.Column("vectors_path", sa.String))
    op.create_table(
        "dimension_words_filtered",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("min_count", sa.Integer, primary_key=True),
        sa.Column("dimension", sa.Integer, primary_key=True),
        sa.Column("pole", sa.String, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_table(
        "similarity",
        sa.Column("run_a", sa.Integer, primary_key=True),
        sa.Column("run_b", sa.Integer, primary_key=True),
        sa.Column("metric", sa.String, primary_key=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("null_mean", sa.Double),
        sa.Column("null_sd", sa.Double),
        sa.Column("calibrated", sa.Double),
        sa.Column("p_value", sa.Double),
        sa.Column("n_words", sa.Integer, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    op.drop_table("similarity")
    op.drop_table("dimension_words_filtered")
    op.drop_column("runs", "vectors_path")
