"""Features without a basis: sparse dictionaries per run (feature sets), their atoms' top words,
every word's codes, atom loadings and scores, WordNet sense counts, and features matched across
runs, with the views that read polysemanticity and universality from them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

from polyuni_db.store import views

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

VIEWS = ["feature_set_summary", "dimension_polysemanticity", "word_polysemy", "atom_quality",
         "feature_stability", "feature_universality", "matched_features"]


def _scores(name: str, *keys: sa.Column) -> None:
    op.create_table(
        name, *keys,
        sa.Column("metric", sa.String, primary_key=True),
        sa.Column("value", sa.Double),
        sa.Column("null_mean", sa.Double),
        sa.Column("null_sd", sa.Double),
        sa.Column("calibrated", sa.Double),
        sa.Column("p_value", sa.Double),
        sa.Column("n", sa.Integer, nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "feature_sets",
        sa.Column("feature_set_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String, nullable=False, unique=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("atoms", sa.Integer, nullable=False),
        sa.Column("nonzero", sa.Integer, nullable=False),
        sa.Column("words", sa.Integer, nullable=False),
        sa.Column("seed", sa.Integer, nullable=False),
        sa.Column("n_fit", sa.Integer, nullable=False),
        sa.Column("n_encoded", sa.Integer, nullable=False),
        sa.Column("explained_variance", sa.Double, nullable=False),
        sa.Column("dead_atoms", sa.Integer, nullable=False),
        sa.Column("dictionary_path", sa.String, nullable=False),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("seconds", sa.Double, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "features",
        sa.Column("feature_set_id", sa.Integer, primary_key=True),
        sa.Column("atom", sa.Integer, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, nullable=False),
        sa.Column("activation", sa.Float, nullable=False),
    )
    op.create_table(
        "word_features",
        sa.Column("feature_set_id", sa.Integer, primary_key=True),
        sa.Column("word", sa.String, primary_key=True),
        sa.Column("atom", sa.Integer, primary_key=True),
        sa.Column("coefficient", sa.Float, nullable=False),
    )
    op.create_table(
        "atom_loadings",
        sa.Column("feature_set_id", sa.Integer, primary_key=True),
        sa.Column("atom", sa.Integer, primary_key=True),
        sa.Column("dimension", sa.Integer, primary_key=True),
        sa.Column("loading", sa.Float, nullable=False),
    )
    op.create_table(
        "atom_scores",
        sa.Column("feature_set_id", sa.Integer, primary_key=True),
        sa.Column("atom", sa.Integer, primary_key=True),
        sa.Column("n_words", sa.Integer, nullable=False),
        sa.Column("coherence", sa.Double),
        sa.Column("supersense_purity", sa.Double),
        sa.Column("supersense", sa.String),
        sa.Column("n_wordnet_words", sa.Integer, nullable=False),
    )
    _scores("feature_set_scores", sa.Column("feature_set_id", sa.Integer, primary_key=True))
    op.create_table(
        "wordnet_senses",
        sa.Column("word", sa.String, primary_key=True),
        sa.Column("n_senses", sa.Integer, nullable=False),
        sa.Column("supersense", sa.String, nullable=False),
    )
    op.create_table(
        "feature_matches",
        sa.Column("feature_set_a", sa.Integer, primary_key=True),
        sa.Column("feature_set_b", sa.Integer, primary_key=True),
        sa.Column("atom_a", sa.Integer, primary_key=True),
        sa.Column("atom_b", sa.Integer, nullable=False),
        sa.Column("correlation", sa.Double, nullable=False),
        sa.Column("best_atom_b", sa.Integer, nullable=False),
        sa.Column("best_correlation", sa.Double, nullable=False),
        sa.Column("decoder_cosine", sa.Double),
        sa.Column("shared_top_words", sa.Integer, nullable=False),
    )
    op.create_table(
        "feature_match_scores",
        sa.Column("feature_set_a", sa.Integer, primary_key=True),
        sa.Column("feature_set_b", sa.Integer, primary_key=True),
        sa.Column("n_words", sa.Integer, nullable=False),
        sa.Column("threshold", sa.Double, nullable=False),
        sa.Column("mean_matched_correlation", sa.Double, nullable=False),
        sa.Column("n_matched_above_threshold", sa.Integer, nullable=False),
        sa.Column("null_mean", sa.Double),
        sa.Column("null_sd", sa.Double),
        sa.Column("z", sa.Double),
        sa.Column("p_value", sa.Double),
        sa.Column("null_above_threshold", sa.Double),
        sa.Column("mean_matched_cosine", sa.Double),
        sa.Column("share_cosine_above_0_9", sa.Double),
        sa.Column("parameters", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    for table in ("feature_match_scores", "feature_matches", "wordnet_senses", "feature_set_scores", "atom_scores",
                  "atom_loadings", "word_features", "features", "feature_sets"):
        op.drop_table(table)
