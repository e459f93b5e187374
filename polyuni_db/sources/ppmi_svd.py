"""PPMI + truncated SVD on a corpus, the count-based baseline of Levy, Goldberg and Dagan (2015).
It has no seed: the same corpus and settings always give the same vectors, bit for bit."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from polyuni_db.analysis.ppmi import cooccurrence, ppmi, svd_embedding
from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.training import check_dim, default_train_label, run_columns

ALGORITHM = "ppmi-svd"


@dataclass(frozen=True)
class PpmiParams:
    """LGD's recommended settings: contexts within ``window`` tokens either side, context counts
    smoothed to the power 0.75, singular values weighted by the power 0.5."""

    window: int = 5
    min_count: int = 1
    smoothing: float = 0.75
    eigenvalue_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("window", "min_count"):
            if getattr(self, name) < 1:
                raise PolyuniError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.smoothing <= 1:
            raise PolyuniError(f"context smoothing must be in (0, 1], not {self.smoothing}")
        if not 0 <= self.eigenvalue_weight <= 1:
            raise PolyuniError(f"eigenvalue weight must be in [0, 1], not {self.eigenvalue_weight}")


@dataclass(frozen=True)
class PpmiSvdSource:
    """PPMI-SVD on one corpus at one dimension; words counted min_count times or more."""

    corpus: Corpus
    dim: int
    params: PpmiParams = field(default_factory=PpmiParams)
    kind: str = "train"
    algorithm: str = ALGORITHM

    def __post_init__(self) -> None:
        check_dim(self.dim)

    def spec(self) -> dict:
        import scipy

        return {
            "source": self.kind,
            "algorithm": self.algorithm,
            "corpus": self.corpus.spec(),
            "dim": self.dim,
            **asdict(self.params),
            "svd": "scipy arpack, start vector all ones, signs fixed",
            "scipy": scipy.__version__,
        }

    def run_columns(self) -> dict:
        return run_columns(self.algorithm, self.corpus, None)

    def default_label(self) -> str:
        return default_train_label(self.corpus.name, self.dim, None, algorithm=self.algorithm)

    def load(self, progress: Progress = no_progress) -> Embedding:
        description = f"computing {self.default_label()}"
        progress(0, 3, description)
        words, counts = self.corpus.vocabulary(self.params.min_count)
        if not words:
            raise PolyuniError(
                f"no word of corpus {self.corpus.name!r} occurs {self.params.min_count} times or more")
        if self.dim > len(words):
            raise PolyuniError(f"ppmi-svd gives at most {len(words)} dimensions on corpus {self.corpus.name!r} "
                               f"(its vocabulary), not {self.dim}")
        index = {word: i for i, word in enumerate(words)}
        sentences = [np.array([index[t] for t in sentence if t in index], dtype=np.int64)
                     for sentence in self.corpus.sentences]
        matrix = cooccurrence(sentences, len(words), self.params.window)
        progress(1, 3, description)
        positive = ppmi(matrix, self.params.smoothing)
        progress(2, 3, description)
        vectors = svd_embedding(positive, self.dim, self.params.eigenvalue_weight)
        progress(3, 3, description)
        # no gradient training: `moved` and `trained` do not apply (null, as for pretrained vectors)
        return Embedding(words=words, vectors=vectors, counts=counts)
