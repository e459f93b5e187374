"""Sources a study asked for but could not ingest, so that the report states them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unavailable_sources",
        sa.Column("label", sa.String, primary_key=True),
        sa.Column("requested", sa.String, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("attempted_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unavailable_sources")
