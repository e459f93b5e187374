"""Word2Vec trained here with gensim (skip-gram or CBOW), one (corpus, dimension, seed, parameters) at a time."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.training import check_dim, default_train_label, run_columns, train_gensim


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
    """Word2Vec on one corpus at one dimension and seed. Its fingerprint has no ``algorithm`` key
    (``sg`` tells skip-gram from CBOW), so runs stored before fastText and PPMI-SVD keep theirs."""

    corpus: Corpus
    dim: int
    seed: int
    params: TrainParams = field(default_factory=TrainParams)
    kind: str = "train"

    def __post_init__(self) -> None:
        check_dim(self.dim)

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

    @property
    def algorithm(self) -> str:
        return "word2vec-sg" if self.params.sg else "word2vec-cbow"

    def run_columns(self) -> dict:
        return run_columns(self.algorithm, self.corpus, self.seed)

    def default_label(self) -> str:
        return default_train_label(self.corpus.name, self.dim, self.seed, self.algorithm)

    def load(self, progress: Progress = no_progress) -> Embedding:
        from gensim.models import Word2Vec

        model = Word2Vec(
            vector_size=self.dim,
            seed=self.seed,
            sg=self.params.sg,
            window=self.params.window,
            min_count=self.params.min_count,
            workers=self.params.workers,
            epochs=self.params.epochs,
        )
        return train_gensim(model, self.corpus, f"training {self.default_label()}", progress)
