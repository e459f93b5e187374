"""Word2Vec trained here with gensim (skip-gram or CBOW), one (corpus, dimension, seed, parameters) at a
time, and the gensim training loop that fastText shares."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from polyuni_db.analysis.word_stats import relative_movement
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import AnalysisSettings, check_memory
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.training import check_dim, check_seed, default_train_label, run_columns


@dataclass(frozen=True)
class TrainParams:
    """Every Word2Vec setting that decides the vectors. The defaults are the original study's: gensim's
    own, but skip-gram and min_count 1; one worker keeps runs repeatable. A plain dataclass, so that
    other gensim trainers (fastText) can share these settings."""

    sg: int = 1
    window: int = 5
    min_count: int = 1
    epochs: int = 5
    workers: int = 1
    sample: float = 1e-3  # down-sampling of frequent words; on a tiny corpus it drops nearly every token
    negative: int = 5  # negative samples per positive pair (0: none)
    hs: int = 0  # 1: hierarchical softmax
    ns_exponent: float = 0.75  # exponent of the negative-sampling distribution
    alpha: float = 0.025  # initial learning rate
    min_alpha: float = 0.0001  # learning rate at the end of training (linear decay)
    cbow_mean: int = 1  # CBOW: 1 averages the context vectors, 0 sums them
    shrink_windows: bool = True  # draw each window's size uniformly from 1..window
    max_final_vocab: int | None = None  # keep at most this many words (raises min_count as needed)
    batch_words: int = 10_000  # words per training job: the learning rate steps down per job

    def __post_init__(self) -> None:
        for name in ("sg", "hs", "cbow_mean"):
            if getattr(self, name) not in (0, 1):
                raise PolyuniError(f"{name} must be 0 or 1, not {getattr(self, name)}")
        for name in ("window", "min_count", "epochs", "workers", "batch_words"):
            if getattr(self, name) < 1:
                raise PolyuniError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("sample", "negative", "min_alpha"):
            if getattr(self, name) < 0:
                raise PolyuniError(f"{name} must be 0 or more, not {getattr(self, name)}")
        if not self.alpha > 0:
            raise PolyuniError(f"alpha must be above 0, not {self.alpha}")
        if self.min_alpha > self.alpha:
            raise PolyuniError(f"min-alpha {self.min_alpha} is larger than alpha {self.alpha}")
        if self.negative == 0 and self.hs == 0:
            raise PolyuniError("negative 0 with hs 0 leaves nothing to train: use --negative N or --hs 1")
        if self.max_final_vocab is not None and self.max_final_vocab < 1:
            raise PolyuniError(f"max-final-vocab must be at least 1, not {self.max_final_vocab}")


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
        check_seed(self.seed)

    def _check_memory(self) -> None:
        """Word2Vec allocates two vocabulary x dimensions float32 matrices before it can fail, and the
        analysis its ranking buffers after: refuse sizes this machine cannot hold, in one line, instead."""
        n_words = len(self.corpus.vocabulary(self.params.min_count)[0])
        check_memory(n_words, self.dim, AnalysisSettings().top_k, other_bytes=2 * 4 * n_words * self.dim,
                     what="training and analysis")

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
        return default_train_label(self.corpus.name, self.dim, self.seed, algorithm=self.algorithm)

    def load(self, progress: Progress = no_progress) -> Embedding:
        self._check_memory()
        trained = train_word2vec(self.corpus, self.dim, self.seed, self.params, progress,
                                 f"training {self.default_label()}")
        return trained.embedding({"loss_first_epoch": trained.losses[0], "loss_last_epoch": trained.losses[-1]})


@dataclass(frozen=True)
class TrainedModel:
    model: object  # gensim Word2Vec or FastText
    initial_vectors: np.ndarray  # every word's random vector before training, in vocabulary order
    losses: list[float]  # gensim's training loss per epoch (Word2Vec only: FastText computes none)

    def embedding(self, metadata: dict | None = None) -> Embedding:
        """The trained word vectors, with corpus counts and how far training moved each."""
        wv = self.model.wv
        vectors = np.array(wv.vectors, dtype=np.float32)
        return Embedding(
            words=list(wv.index_to_key),
            vectors=vectors,
            counts=np.asarray(wv.expandos["count"], dtype=np.int64),
            moved=relative_movement(self.initial_vectors, vectors),
            initial_vectors=self.initial_vectors,
            metadata=metadata or {},
        )


def train_word2vec(corpus: Corpus, dim: int, seed: int, params: TrainParams,
                   progress: Progress = no_progress, description: str = "training") -> TrainedModel:
    """gensim's Word2Vec on the corpus, keeping the initial vectors and the loss of every epoch."""
    from gensim.models import Word2Vec

    return train_gensim(Word2Vec, corpus, dim, seed, params, progress, description, compute_loss=True)


def train_gensim(model_class, corpus: Corpus, dim: int, seed: int, params: TrainParams,
                 progress: Progress = no_progress, description: str = "training", **settings) -> TrainedModel:
    """A gensim Word2Vec or FastText (``settings``: its own further keywords) on the corpus, keeping
    the initial vectors and, with ``compute_loss``, the loss of every epoch."""
    from gensim.models.callbacks import CallbackAny2Vec

    compute_loss = settings.get("compute_loss", False)

    class EpochEnd(CallbackAny2Vec):
        """Progress, and the loss per epoch (gensim keeps a running total per ``train`` call)."""

        def __init__(self) -> None:
            self.losses: list[float] = []
            self.total = 0.0
            self.done = 0

        def on_epoch_end(self, model) -> None:
            self.done += 1
            if compute_loss:
                total = model.get_latest_training_loss()
                self.losses.append(total - self.total)
                self.total = total
            progress(self.done, params.epochs, description)

    progress(0, params.epochs, description)
    # every field of TrainParams is a keyword of gensim's Word2Vec and FastText, under the same name
    model = model_class(vector_size=dim, seed=seed, **asdict(params), **settings)
    model.build_vocab(corpus.sentences)
    if not model.wv.index_to_key:
        raise PolyuniError(f"no word of corpus {corpus.name!r} occurs {params.min_count} times or more")
    initial = model.wv.vectors.copy()  # build_vocab drew the random initial vectors
    epoch_end = EpochEnd()
    model.train(corpus.sentences, total_examples=model.corpus_count, epochs=params.epochs,
                callbacks=[epoch_end], compute_loss=compute_loss)
    return TrainedModel(model, initial, epoch_end.losses)
