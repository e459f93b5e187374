"""MLflow shows the study: the experiment the database logs to, and each `polyuni study` or
`polyuni sweep` with the runs it computed or reused and its MLflow parent run.

A database whose runs were logged before this revision logged them to the experiment 'polyuni-db':
it is recorded here, so that such a database keeps logging there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlflow_experiment",
        sa.Column("experiment_name", sa.String, primary_key=True),
        sa.Column("experiment_id", sa.String),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.execute("""INSERT INTO mlflow_experiment
                  SELECT 'polyuni-db', NULL, current_timestamp::TIMESTAMP
                  WHERE EXISTS (SELECT 1 FROM runs WHERE mlflow_run_id IS NOT NULL)""")
    op.create_table(
        "studies",
        sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("command", sa.String, nullable=False),
        sa.Column("executor", sa.String, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("wall_seconds", sa.Double, nullable=False),
        sa.Column("mlflow_run_id", sa.String),
        sa.Column("mlflow_status", sa.String, nullable=False),
    )
    op.create_table(
        "study_runs",
        sa.Column("study_id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("reused", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("study_runs")
    op.drop_table("studies")
    op.drop_table("mlflow_experiment")
