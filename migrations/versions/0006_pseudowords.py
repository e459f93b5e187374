"""Planted polysemy: the pseudowords planted in a run's corpus, how the run was aligned to its
reference, the span fit of each pseudoword and what each instrument recovered, and their views.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

VIEWS = ["pseudoword_recovery", "pseudoword_summary", "pseudoword_instrument_recovery", "pseudoword_seed_agreement"]


def upgrade() -> None:
    op.create_table(
        "pseudowords",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String, primary_key=True),
        sa.Column("word_a", sa.String, nullable=False),
        sa.Column("word_b", sa.String, nullable=False),
        sa.Column("count_a", sa.Integer, nullable=False),
        sa.Column("count_b", sa.Integer, nullable=False),
    )
    op.create_table(
        "pseudoword_alignment",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("reference_run_id", sa.Integer, nullable=False),
        sa.Column("n_aligned", sa.Integer, nullable=False),
        sa.Column("alignment_cosine", sa.Double, nullable=False),
        sa.Column("beta_spearman_rho", sa.Double),
        sa.Column("beta_spearman_p", sa.Double),
        sa.Column("null_seed", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "pseudoword_fits",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String, primary_key=True),
        sa.Column("span_cosine", sa.Double, nullable=False),
        sa.Column("alpha", sa.Double, nullable=False),
        sa.Column("beta", sa.Double, nullable=False),
        sa.Column("null_word_a", sa.String, nullable=False),
        sa.Column("null_word_b", sa.String, nullable=False),
        sa.Column("null_span_cosine", sa.Double, nullable=False),
        sa.Column("null_alpha", sa.Double, nullable=False),
        sa.Column("null_beta", sa.Double, nullable=False),
    )
    op.create_table(
        "pseudoword_instruments",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String, primary_key=True),
        sa.Column("instrument", sa.String, primary_key=True),
        sa.Column("hits_a", sa.Integer, nullable=False),
        sa.Column("hits_b", sa.Integer, nullable=False),
        sa.Column("recovered", sa.Boolean, nullable=False),
        sa.Column("null_hits_a", sa.Integer, nullable=False),
        sa.Column("null_hits_b", sa.Integer, nullable=False),
        sa.Column("null_recovered", sa.Boolean, nullable=False),
    )
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    for table in ("pseudoword_instruments", "pseudoword_fits", "pseudoword_alignment", "pseudowords"):
        op.drop_table(table)
