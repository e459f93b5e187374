"""Algorithm families: runs.model_name names the algorithm trained here (word2vec-sg, word2vec-cbow,
fastText, ppmi-svd), and the views that break every comparison down by which of corpus, algorithm,
dimension and seed differ, with an effect size against the agreement of seed pairs (the
configurations of revision 0005's run_configuration).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
from alembic import op

from polyuni_db.store import views

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VIEWS = ["seed_ceilings", "similarity_effect_sizes", "pair_factors",
         "universality_by_factor", "axis_overlap_by_factor"]


def upgrade() -> None:
    # Word2Vec runs stored before algorithms were named: sg tells skip-gram from CBOW.
    op.execute("""UPDATE runs SET model_name = CASE WHEN parameters->'vectors'->>'sg' = '0'
                  THEN 'word2vec-cbow' ELSE 'word2vec-sg' END
                  WHERE source = 'train' AND model_name = 'word2vec'""")
    views.create(op, revision, VIEWS)


def downgrade() -> None:
    views.drop(op, revision, VIEWS)
    op.execute("UPDATE runs SET model_name = 'word2vec' WHERE source = 'train' AND model_name LIKE 'word2vec-%'")
