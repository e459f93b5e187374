"""What every algorithm trained here on a corpus shares: its name, the checks of dimension and seed,
labels and the ``runs`` columns. (gensim's training loop, shared by Word2Vec and fastText, is
``trained.train_gensim``.)"""
from __future__ import annotations

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.corpora import Corpus

# The algorithm families `polyuni ingest train --algorithm` offers; runs.model_name holds the name.
ALGORITHMS = ("word2vec-sg", "word2vec-cbow", "fasttext", "ppmi-svd")
DEFAULT_ALGORITHM = "word2vec-sg"  # the original study's
MAX_SEED = 2**31 - 1  # gensim seeds numpy with the seed, which must fit its 32-bit range
# Far above any embedding studied (300 for Google News); 100,000,000 would exhaust memory in the
# analysis whatever the vocabulary.
MAX_DIM = 100_000


def check_dim(dim: int) -> None:
    if not 1 <= dim <= MAX_DIM:
        raise PolyuniError(f"dimensions must be from 1 to {MAX_DIM:,}, not {dim:,}: use fewer --dims")


def check_seed(seed: int) -> None:
    if not 0 <= seed <= MAX_SEED:
        raise PolyuniError(f"a seed must be from 0 to {MAX_SEED} (gensim's range), not {seed}")


def default_train_label(corpus: str, dim: int, seed: int | None, suffix: str = "",
                        algorithm: str = DEFAULT_ALGORITHM) -> str:
    """``brown_40`` for skip-gram and seed 1, ``brown_40_s2`` for other seeds, as the study named its
    models; other algorithms name themselves (``brown_fasttext_40_s2``, ``brown_ppmi-svd_40``) and a
    suffix names a variant (``corpus_bark_3_trained``, ``corpus_bark_3_trained_s2``)."""
    stem = f"{corpus}_{dim}" if algorithm == DEFAULT_ALGORITHM else f"{corpus}_{algorithm}_{dim}"
    stem = f"{stem}_{suffix}" if suffix else stem
    return stem if seed in (1, None) else f"{stem}_s{seed}"


def run_columns(algorithm: str, corpus: Corpus, seed: int | None) -> dict:
    return {"model_name": algorithm, "corpus": corpus.name, "seed": seed}
