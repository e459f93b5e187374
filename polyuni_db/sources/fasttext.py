"""fastText (gensim's FastText) trained here: Word2Vec's settings plus character n-grams, whose
vectors are shared by every word that contains them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.trained import TrainParams, train_gensim
from polyuni_db.sources.training import check_dim, check_seed, default_train_label, run_columns

ALGORITHM = "fasttext"


@dataclass(frozen=True)
class SubwordParams:
    """Character n-grams of min_n to max_n characters hashed into ``bucket`` rows (gensim's and
    fastText's defaults)."""

    min_n: int = 3
    max_n: int = 6
    bucket: int = 2_000_000

    def __post_init__(self) -> None:
        if self.min_n < 1 or self.bucket < 1:
            raise PolyuniError(f"min_n and bucket must be at least 1, not {self.min_n} and {self.bucket}")
        if self.max_n < self.min_n:
            raise PolyuniError(f"max_n ({self.max_n}) must be at least min_n ({self.min_n})")


@dataclass(frozen=True)
class FastTextSource:
    """fastText on one corpus at one dimension and seed. A word's vector is its own vector averaged
    with its n-grams'; ``moved`` is how far training moved that average (its n-grams may be trained
    by other words, so a word without contexts can move too)."""

    corpus: Corpus
    dim: int
    seed: int
    params: TrainParams = field(default_factory=TrainParams)
    subwords: SubwordParams = field(default_factory=SubwordParams)
    kind: str = "train"
    algorithm: str = ALGORITHM

    def __post_init__(self) -> None:
        check_dim(self.dim)
        check_seed(self.seed)

    def spec(self) -> dict:
        import gensim

        return {
            "source": self.kind,
            "algorithm": self.algorithm,
            "corpus": self.corpus.spec(),
            "dim": self.dim,
            "seed": self.seed,
            **asdict(self.params),
            **asdict(self.subwords),
            "gensim": gensim.__version__,
        }

    def run_columns(self) -> dict:
        return run_columns(self.algorithm, self.corpus, self.seed)

    def default_label(self) -> str:
        return default_train_label(self.corpus.name, self.dim, self.seed, algorithm=self.algorithm)

    def load(self, progress: Progress = no_progress) -> Embedding:
        from gensim.models import FastText

        return train_gensim(FastText, self.corpus, self.dim, self.seed, self.params, progress,
                            f"training {self.default_label()}", **asdict(self.subwords)).embedding()
