"""From an embedding to the rows of every findings table (as Arrow tables, without run_id)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.geometry import cosine_matrix, pair_geometry
from polyuni_db.analysis.neighbours import difference_neighbours
from polyuni_db.analysis.ranking import CHUNK_ROWS, kernel_threads, rankable, row_norms
from polyuni_db.analysis.superposition import superposition
from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding

DEFAULT_PAIRS = (("squirrel", "phone"), ("potato", "square"), ("poland", "yoga"))
SMALL_MODEL_WORDS = 1_000  # models up to this size also store every vector and every pair's angle
# The tables ``analyse`` may give, hence the only ones a run bundle may hold.
ANALYSIS_TABLES = ("dimension_words", "difference_pairs", "difference_neighbours", "word_stats", "word_vectors",
                   "pair_geometry", "word_superposition")


def machine_memory() -> int:
    """Bytes of physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def analysis_bytes(n_words: int, dim: int, top_k: int, threads: int | None = None) -> int:
    """An upper estimate of what ``analyse`` allocates beyond the vectors: per thread, the ranking
    buffers (a block of cosines and its mask) and each pole's top-k scores and rows; the dimension
    words' rows (about 40 bytes each on their way to Arrow); a small model's every coordinate and
    every pair's angle."""
    threads = threads or kernel_threads()
    ranking = threads * (min(CHUNK_ROWS, n_words) * dim * 5 + 2 * top_k * dim * 12)
    rows = 2 * dim * top_k * 40
    small = (n_words * dim + n_words * n_words) * 40 if n_words <= SMALL_MODEL_WORDS else 0
    return ranking + rows + small


def check_memory(n_words: int, dim: int, top_k: int, other_bytes: int = 0, what: str = "the analysis") -> None:
    """Refuse in one line, before allocating, sizes this machine cannot hold (``other_bytes``: what
    the caller needs besides the analysis, e.g. training)."""
    needed = other_bytes + analysis_bytes(n_words, dim, top_k)
    if needed > machine_memory():
        raise PolyuniError(f"{dim:,} dimensions x {n_words:,} words need {needed / 2**30:.1f} GiB for {what}, "
                           f"more than this machine's {machine_memory() / 2**30:.1f} GiB: use fewer --dims")


@dataclass(frozen=True)
class AnalysisSettings:
    """What is computed from the vectors; part of the run's fingerprint."""

    top_k: int = 10
    pairs: tuple[tuple[str, str], ...] = DEFAULT_PAIRS
    # rank every word of a model with fewer rankable words than top_k (a minimal corpus), instead of
    # refusing it: what the command line does when --top-k is not given
    all_if_fewer: bool = False
    # word_superposition for a model of more than SMALL_MODEL_WORDS words: over its N most frequent
    superposition_words: int | None = None

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise PolyuniError(f"top-k must be at least 1, not {self.top_k}")
        if self.superposition_words is not None and self.superposition_words < 2:
            raise PolyuniError(f"superposition needs at least 2 words, not {self.superposition_words}")
        for word_a, word_b in self.pairs:
            if word_a == word_b:
                raise PolyuniError(f"pair {word_a}:{word_b} has the same word twice")

    def spec(self) -> dict:
        spec = {"top_k": self.top_k, "pairs": [f"{a}:{b}" for a, b in self.pairs]}
        # absent by default: older fingerprints stay valid
        if self.superposition_words is not None:
            spec["superposition_words"] = self.superposition_words
        if self.all_if_fewer:
            spec["all_if_fewer"] = True
        return spec


@dataclass
class Findings:
    tables: dict[str, pa.Table]
    summary: dict = field(default_factory=dict)


def _dimension_word_rows(words: np.ndarray, vectors: np.ndarray, norms: np.ndarray, top_k: int) -> pa.Table:
    n_dims = vectors.shape[1]
    parts = []
    for pole, top in dimension_words(vectors, top_k, norms).items():
        parts.append(pa.table({
            "dimension": np.repeat(np.arange(n_dims, dtype=np.int32), top_k),
            "pole": pa.array([pole] * (n_dims * top_k)),
            "rank": np.tile(np.arange(1, top_k + 1, dtype=np.int32), n_dims),
            "word": pa.array(words[top.indices.ravel()]),
            "similarity": top.similarities.ravel().astype(np.float32),
        }))
    return pa.concat_tables(parts)


def _difference_rows(
    words: np.ndarray, index: dict[str, int], vectors: np.ndarray, norms: np.ndarray,
    settings: AnalysisSettings,
) -> tuple[pa.Table, pa.Table]:
    valid = rankable(norms)
    statuses, missing, computable = [], [], []
    for word_a, word_b in settings.pairs:
        absent = [word for word in (word_a, word_b) if word not in index]
        if absent:
            statuses.append("missing words")
        elif not (valid[index[word_a]] and valid[index[word_b]]):
            statuses.append("zero or non-finite vector")
        elif np.array_equal(vectors[index[word_a]], vectors[index[word_b]]):
            statuses.append("zero difference")
        else:
            statuses.append("computed")
            computable.append((word_a, word_b))
        missing.append(", ".join(absent) or None)
    pairs = pa.table({
        "word_a": pa.array([a for a, _ in settings.pairs], pa.string()),
        "word_b": pa.array([b for _, b in settings.pairs], pa.string()),
        "status": pa.array(statuses, pa.string()),
        "missing_words": pa.array(missing, pa.string()),
    })
    k = settings.top_k
    if not computable:
        return pairs, None
    top = difference_neighbours(vectors, norms, [(index[a], index[b]) for a, b in computable], k)
    neighbours = pa.table({
        "word_a": pa.array(np.repeat([a for a, _ in computable], k)),
        "word_b": pa.array(np.repeat([b for _, b in computable], k)),
        "rank": np.tile(np.arange(1, k + 1, dtype=np.int32), len(computable)),
        "word": pa.array(words[top.indices.ravel()]),
        "similarity": top.similarities.ravel().astype(np.float32),
    })
    return pairs, neighbours


def _word_stat_rows(embedding: Embedding, words: np.ndarray, norms: np.ndarray) -> pa.Table:
    n_words = len(words)
    return pa.table({
        "word": pa.array(words),
        "rank": np.arange(1, n_words + 1, dtype=np.int64),
        "count": pa.array(embedding.counts, pa.int64()) if embedding.counts is not None
        else pa.nulls(n_words, pa.int64()),
        "norm": norms,
        "trained": pa.array(embedding.trained) if embedding.moved is not None
        else pa.nulls(n_words, pa.bool_()),
        "moved": pa.array(embedding.moved, pa.float64()) if embedding.moved is not None
        else pa.nulls(n_words, pa.float64()),
    })


def _small_model_rows(words: np.ndarray, vectors: np.ndarray, initial: np.ndarray | None) -> tuple[pa.Table, pa.Table]:
    n_words, n_dims = vectors.shape
    coordinates = pa.table({
        "word": pa.array(np.repeat(words, n_dims)),
        "dimension": np.tile(np.arange(n_dims, dtype=np.int32), n_words),
        "value": np.asarray(vectors, dtype=np.float64).ravel(),
    })
    geometry = pair_geometry(vectors)
    # the same pair's cosine before training: what random vectors give, the null of pair_interference
    initial_cosine = (np.clip(cosine_matrix(initial)[geometry.first, geometry.second], -1.0, 1.0)
                      if initial is not None else np.full(len(geometry.first), np.nan))
    pairs = pa.table({
        "word_a": pa.array(words[geometry.first]),
        "word_b": pa.array(words[geometry.second]),
        "cosine": pa.array(geometry.cosine, from_pandas=True),
        "angle_degrees": pa.array(geometry.angle_degrees, from_pandas=True),
        "initial_cosine": pa.array(initial_cosine, from_pandas=True),
    })
    return coordinates, pairs


def _superposition_rows(words: np.ndarray, vectors: np.ndarray) -> pa.Table:
    measures = superposition(vectors)
    return pa.table({
        "word": pa.array(words),
        "dimensionality": pa.array(measures.dimensionality, from_pandas=True),
        "dimensionality_unit": pa.array(measures.dimensionality_unit, from_pandas=True),
        "max_interference": pa.array(measures.max_interference, from_pandas=True),
    })


def analyse(embedding: Embedding, settings: AnalysisSettings) -> Findings:
    """Every finding of the study for one model."""
    vectors = embedding.vectors
    words = np.asarray(embedding.words, dtype=object)
    norms = row_norms(vectors)
    n_rankable = int(rankable(norms).sum())  # zero, NaN and infinite vectors are kept but not ranked
    if settings.top_k > n_rankable:
        if not settings.all_if_fewer or n_rankable == 0:
            raise PolyuniError(
                f"top-k {settings.top_k} is larger than the model's {n_rankable} rankable words"
            )
        settings = replace(settings, top_k=n_rankable)
    check_memory(len(words), vectors.shape[1], settings.top_k)
    index = {word: i for i, word in enumerate(embedding.words)}
    pairs, neighbours = _difference_rows(words, index, vectors, norms, settings)
    tables = {
        "dimension_words": _dimension_word_rows(words, vectors, norms, settings.top_k),
        "difference_pairs": pairs,
        "difference_neighbours": neighbours,
        "word_stats": _word_stat_rows(embedding, words, norms),
    }
    if len(words) <= SMALL_MODEL_WORDS:
        tables["word_vectors"], tables["pair_geometry"] = _small_model_rows(words, vectors, embedding.initial_vectors)
        tables["word_superposition"] = _superposition_rows(words, vectors)
    elif settings.superposition_words is not None:  # rows are in vocabulary (frequency) order
        n = settings.superposition_words
        tables["word_superposition"] = _superposition_rows(words[:n], vectors[:n])
    finite = np.isfinite(norms)
    summary = {
        "vocab_size": len(words),
        "n_unrankable": len(words) - n_rankable,
        "top_k": settings.top_k,
        "n_untrained": None if embedding.moved is None else int((~embedding.trained).sum()),
        "mean_norm": float(norms[finite].mean()) if finite.any() else float("nan"),
    }
    return Findings(tables={k: v for k, v in tables.items() if v is not None}, summary=summary)

