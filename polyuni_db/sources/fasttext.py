"""fastText (gensim's FastText) trained here: Word2Vec's settings plus character n-grams, whose
vectors are shared by every word that contains them."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.trained import TrainParams
from polyuni_db.sources.training import check_dim, default_train_label, run_columns, train_gensim

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
    with its n-grams'; ``trained`` follows the word's own vector (its n-grams may be trained by
    other words)."""

    corpus: Corpus
    dim: int
    seed: int
    params: TrainParams = field(default_factory=TrainParams)
    subwords: SubwordParams = field(default_factory=SubwordParams)
    kind: str = "train"
    algorithm: str = ALGORITHM

    def __post_init__(self) -> None:
        check_dim(self.dim)

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
        return default_train_label(self.corpus.name, self.dim, self.seed, self.algorithm)

    def load(self, progress: Progress = no_progress) -> Embedding:
        from gensim.models import FastText

        model = FastText(
            vector_size=self.dim,
            seed=self.seed,
            sg=self.params.sg,
            window=self.params.window,
            min_count=self.params.min_count,
            workers=self.params.workers,
            epochs=self.params.epochs,
            min_n=self.subwords.min_n,
            max_n=self.subwords.max_n,
            bucket=self.subwords.bucket,
        )
        return train_gensim(model, self.corpus, f"training {self.default_label()}", progress)
