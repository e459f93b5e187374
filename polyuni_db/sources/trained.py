"""Word2Vec trained here with gensim, one (corpus, dimension, seed, parameters) at a time."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from polyuni_db.analysis.word_stats import trained_mask
from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus

MAX_SEED = 2**31 - 1  # gensim seeds numpy with the seed, which must fit its 32-bit range


@dataclass(frozen=True)
class TrainParams:
    """Word2Vec settings; the defaults are the original study's. One worker keeps runs repeatable."""

    sg: int = 1
    window: int = 5
    min_count: int = 1
    epochs: int = 5
    workers: int = 1

    def __post_init__(self) -> None:
        if self.sg not in (0, 1):
            raise PolyuniError(f"sg must be 0 (CBOW) or 1 (skip-gram), not {self.sg}")
        for name in ("window", "min_count", "epochs", "workers"):
            if getattr(self, name) < 1:
                raise PolyuniError(f"{name} must be at least 1, not {getattr(self, name)}")


@dataclass(frozen=True)
class TrainedSource:
    """Word2Vec on one corpus at one dimension and seed."""

    corpus: Corpus
    dim: int
    seed: int
    params: TrainParams = field(default_factory=TrainParams)
    kind: str = "train"

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise PolyuniError(f"dimensions must be at least 1, not {self.dim}")
        if not 0 <= self.seed <= MAX_SEED:
            raise PolyuniError(f"a seed must be from 0 to {MAX_SEED} (gensim's range), not {self.seed}")

    def _check_memory(self) -> None:
        """Word2Vec allocates two vocabulary x dimensions float32 matrices before it can fail: refuse
        sizes this machine cannot hold, in one line, instead."""
        counts = Counter(token for sentence in self.corpus.sentences for token in sentence)
        n_words = sum(count >= self.params.min_count for count in counts.values())
        needed = 2 * 4 * n_words * self.dim
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        if needed > memory:
            raise PolyuniError(
                f"{self.dim} dimensions x {n_words} words need {needed / 2**30:.1f} GiB for training, "
                f"more than this machine's {memory / 2**30:.1f} GiB: use fewer --dims"
            )

    def spec(self) -> dict:
        import gensim

        return {
            "source": self.kind,
            "corpus": self.corpus.spec(),
            "dim": self.dim,
            "seed": self.seed,
            **asdict(self.params),
            "gensim": gensim.__version__,
        }

    def run_columns(self) -> dict:
        return {"model_name": "word2vec", "corpus": self.corpus.name, "seed": self.seed}

    def default_label(self) -> str:
        return default_train_label(self.corpus.name, self.dim, self.seed)

    def load(self, progress: Progress = no_progress) -> Embedding:
        from gensim.models import Word2Vec
        from gensim.models.callbacks import CallbackAny2Vec

        epochs = self.params.epochs
        description = f"training {self.default_label()}"

        class EpochProgress(CallbackAny2Vec):
            def __init__(self) -> None:
                self.done = 0

            def on_epoch_end(self, model) -> None:
                self.done += 1
                progress(self.done, epochs, description)

        self._check_memory()
        progress(0, epochs, description)
        model = Word2Vec(
            vector_size=self.dim,
            seed=self.seed,
            sg=self.params.sg,
            window=self.params.window,
            min_count=self.params.min_count,
            workers=self.params.workers,
            epochs=epochs,
        )
        model.build_vocab(self.corpus.sentences)
        if not model.wv.index_to_key:
            raise PolyuniError(
                f"no word of corpus {self.corpus.name!r} occurs {self.params.min_count} times or more"
            )
        model.train(
            self.corpus.sentences,
            total_examples=model.corpus_count,
            epochs=epochs,
            callbacks=[EpochProgress()],
        )
        wv = model.wv
        return Embedding(
            words=list(wv.index_to_key),
            vectors=np.array(wv.vectors, dtype=np.float32),
            counts=np.asarray(wv.expandos["count"], dtype=np.int64),
            trained=trained_mask(self.corpus.sentences, wv.key_to_index),
            metadata={"python_hash_seed": os.environ.get("PYTHONHASHSEED", "unset")},
        )


def default_train_label(corpus: str, dim: int, seed: int) -> str:
    """``brown_40`` for seed 1, ``brown_40_s2`` otherwise, as the study named its models."""
    return f"{corpus}_{dim}" if seed == 1 else f"{corpus}_{dim}_s{seed}"
