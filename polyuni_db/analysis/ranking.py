"""Top-k by cosine similarity, ordered as gensim's ``KeyedVectors.most_similar`` orders them."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Rows per block: a pass over a large matrix holds about 12 bytes x CHUNK_ROWS x columns extra.
CHUNK_ROWS = 8_192


class TopK(NamedTuple):
    """``indices[q, r]`` is the word of rank r + 1 for query q; ``similarities`` its cosine."""

    indices: np.ndarray
    similarities: np.ndarray


def row_norms(vectors: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """Euclidean norm of every row, computed as gensim's ``fill_norms`` does (same float32 values)."""
    norms = np.empty(vectors.shape[0], dtype=np.float32)
    for start in range(0, vectors.shape[0], chunk_rows):
        norms[start:start + chunk_rows] = np.linalg.norm(vectors[start:start + chunk_rows], axis=1)
    return norms


def rankable(norms: np.ndarray) -> np.ndarray:
    """Rows that have a direction: zero, NaN and infinite vectors take no part in cosine ranking."""
    return np.isfinite(norms) & (norms > 0)


def merge_top_k(
    best_scores: np.ndarray, best_indices: np.ndarray, scores: np.ndarray, indices: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the k highest scores per column of the union of two candidate sets (rows x columns)."""
    all_scores = np.concatenate([best_scores, scores], axis=0)
    all_indices = np.concatenate([best_indices, indices], axis=0)
    if all_scores.shape[0] > k:
        keep = np.argpartition(-all_scores, k - 1, axis=0)[:k]
        all_scores = np.take_along_axis(all_scores, keep, axis=0)
        all_indices = np.take_along_axis(all_indices, keep, axis=0)
    return all_scores, all_indices


def order_top_k(scores: np.ndarray, indices: np.ndarray) -> TopK:
    """(k x queries) candidates to one row per query, best first; ties go to the earlier word."""
    order = np.lexsort((indices, -scores), axis=0)
    scores = np.take_along_axis(scores, order, axis=0)
    indices = np.take_along_axis(indices, order, axis=0)
    return TopK(indices=indices.T.copy(), similarities=scores.T.copy())


def check_top_k(top_k: int, n_rankable: int) -> None:
    if top_k < 1:
        raise ValueError(f"top-k must be at least 1, not {top_k}")
    if top_k > n_rankable:
        raise ValueError(f"top-k {top_k} is larger than the {n_rankable} rankable words")
