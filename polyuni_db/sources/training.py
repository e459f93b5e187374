"""What every algorithm trained here on a corpus shares: its name, labels, the ``runs`` columns, and
gensim's training loop (Word2Vec and fastText)."""
from __future__ import annotations

import os

import numpy as np

from polyuni_db.analysis.word_stats import trained_mask
from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress
from polyuni_db.sources.corpora import Corpus

# The algorithm families `polyuni ingest train --algorithm` offers; runs.model_name holds the name.
ALGORITHMS = ("word2vec-sg", "word2vec-cbow", "fasttext", "ppmi-svd")
DEFAULT_ALGORITHM = "word2vec-sg"  # the original study's


def check_dim(dim: int) -> None:
    if dim < 1:
        raise PolyuniError(f"dimensions must be at least 1, not {dim}")


def default_train_label(corpus: str, dim: int, seed: int | None, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """``brown_40`` for skip-gram and seed 1, ``brown_40_s2`` for other seeds, as the study named its
    models; other algorithms name themselves: ``brown_fasttext_40_s2``, ``brown_ppmi-svd_40``."""
    middle = "" if algorithm == DEFAULT_ALGORITHM else f"_{algorithm}"
    return f"{corpus}{middle}_{dim}" + ("" if seed in (1, None) else f"_s{seed}")


def run_columns(algorithm: str, corpus: Corpus, seed: int | None) -> dict:
    return {"model_name": algorithm, "corpus": corpus.name, "seed": seed}


def train_gensim(model, corpus: Corpus, description: str, progress: Progress) -> Embedding:
    """Build the vocabulary of a configured gensim Word2Vec or FastText model, train it with one
    progress step per epoch, and return its word vectors with corpus counts and trained flags."""
    from gensim.models.callbacks import CallbackAny2Vec

    epochs = model.epochs

    class EpochProgress(CallbackAny2Vec):
        def __init__(self) -> None:
            self.done = 0

        def on_epoch_end(self, model) -> None:
            self.done += 1
            progress(self.done, epochs, description)

    progress(0, epochs, description)
    model.build_vocab(corpus.sentences)
    if not model.wv.index_to_key:
        raise PolyuniError(f"no word of corpus {corpus.name!r} occurs {model.min_count} times or more")
    model.train(corpus.sentences, total_examples=model.corpus_count, epochs=epochs, callbacks=[EpochProgress()])
    wv = model.wv
    return Embedding(
        words=list(wv.index_to_key),
        vectors=np.array(wv.vectors, dtype=np.float32),
        counts=np.asarray(wv.expandos["count"], dtype=np.int64),
        trained=trained_mask(corpus.sentences, wv.key_to_index),
        metadata={"python_hash_seed": os.environ.get("PYTHONHASHSEED", "unset")},
    )
