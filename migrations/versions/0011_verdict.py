"""The verdict: one row per question the report asks (view ``verdict``), from the items each
question summarises (``verdict_items``; Approach 2's agreement across models is the view
``difference_agreement``), with bootstrap intervals of their effect sizes stored in
``verdict_intervals`` (computed in Python: SQL cannot resample).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

VIEWS = ["difference_agreement", "verdict_items", "verdict"]


def upgrade() -> None:
    op.create_table(
        "verdict_intervals",
        sa.Column("question", sa.String, primary_key=True),
        sa.Column("item_group", sa.String, primary_key=True),
        sa.Column("n_items", sa.Integer, nullable=False),
        sa.Column("effect_size", sa.Double),
        sa.Column("ci_low", sa.Double),
        sa.Column("ci_high", sa.Double),
        sa.Column("confidence", sa.Double, nullable=False),
        sa.Column("n_resamples", sa.Integer, nullable=False),
        sa.Column("method", sa.String, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    op.drop_table("verdict_intervals")
