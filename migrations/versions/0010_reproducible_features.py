"""Reproducible features: a feature set's method and fits, each atom's reproducibility (the share of
independent fits in which it reappears), and matches that say whether
the two sets shared an initialisation, how many of their top words matched atoms share, and whether
their p-value is a bound; the feature views rebuilt on them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

VIEWS = ["feature_set_summary", "atom_quality", "feature_stability", "feature_universality", "matched_features"]


def upgrade() -> None:
    # feature sets stored before this revision are the overcomplete OMP dictionaries, fitted once
    op.add_column("feature_sets", sa.Column("method", sa.String, server_default="omp"))
    op.add_column("feature_sets", sa.Column("fits", sa.Integer, server_default="1"))
    op.add_column("atom_scores", sa.Column("reproducibility", sa.Double))
    op.add_column("atom_scores", sa.Column("reappear_cosine", sa.Double))
    op.add_column("feature_set_scores", sa.Column("p_value_is_bound", sa.Boolean))
    for column in (sa.Column("n_atoms_a", sa.Integer), sa.Column("n_atoms_b", sa.Integer),
                   sa.Column("mean_matched_correlation_all_atoms", sa.Double),
                   sa.Column("top_word_jaccard", sa.Double), sa.Column("shared_initialization", sa.Boolean),
                   sa.Column("p_value_is_bound", sa.Boolean)):
        op.add_column("feature_match_scores", column)
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.create(op, "0007", VIEWS)
    for column in ("n_atoms_a", "n_atoms_b", "mean_matched_correlation_all_atoms", "top_word_jaccard",
                   "shared_initialization", "p_value_is_bound"):
        op.drop_column("feature_match_scores", column)
    op.drop_column("feature_set_scores", "p_value_is_bound")
    for column in ("reproducibility", "reappear_cosine"):
        op.drop_column("atom_scores", column)
    for column in ("method", "fits"):
        op.drop_column("feature_sets", column)
