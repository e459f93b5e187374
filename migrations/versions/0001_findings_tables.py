"""The findings tables: runs, dimension words, difference-vector neighbours, word statistics, and
the vectors and pair geometry of small models.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String, nullable=False, unique=True),
        sa.Column("fingerprint", sa.String, nullable=False, unique=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("model_name", sa.String, nullable=False),
        sa.Column("corpus", sa.String),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer),
        sa.Column("top_k", sa.Integer, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("vocab_size", sa.Integer, nullable=False),
        sa.Column("n_untrained", sa.Integer),
        sa.Column("n_unrankable", sa.Integer, nullable=False),
        sa.Column("mean_norm", sa.Double, nullable=False),
        sa.Column("load_seconds", sa.Double, nullable=False),
        sa.Column("analysis_seconds", sa.Double, nullable=False),
        sa.Column("mlflow_run_id", sa.String),
        sa.Column("mlflow_status", sa.String, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "dimension_words",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("dimension", sa.Integer, primary_key=True),
        sa.Column("pole", sa.String, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_table(
        "difference_pairs",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word_a", sa.String, primary_key=True),
        sa.Column("word_b", sa.String, primary_key=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("missing_words", sa.String),
    )
    op.create_table(
        "difference_neighbours",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word_a", sa.String, primary_key=True),
        sa.Column("word_b", sa.String, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
    )
    op.create_table(
        "word_stats",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, primary_key=True),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer),
        sa.Column("norm", sa.Float, nullable=False),
        sa.Column("trained", sa.Boolean),
    )
    op.create_table(
        "word_vectors",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, primary_key=True),
        sa.Column("dimension", sa.Integer, primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        "pair_geometry",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("word_a", sa.String, primary_key=True),
        sa.Column("word_b", sa.String, primary_key=True),
        sa.Column("cosine", sa.Double),
        sa.Column("angle_degrees", sa.Double),
    )


def downgrade() -> None:
    for table in (
        "pair_geometry", "word_vectors", "word_stats", "difference_neighbours",
        "difference_pairs", "dimension_words", "runs",
    ):
        op.drop_table(table)
