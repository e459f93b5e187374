"""Nearest words to arbitrary query vectors, and the study's difference vectors (Approach 2)."""
from __future__ import annotations

import numpy as np

from polyuni_db.analysis.ranking import CHUNK_ROWS, ColumnTopK, TopK, check_top_k, in_threads, rankable, rankable_blocks


def unit_queries(queries: np.ndarray) -> np.ndarray:
    """Normalise as gensim's ``most_similar`` does a raw vector: in float64, then back to float32."""
    queries = np.asarray(queries, dtype=np.float64)
    lengths = np.linalg.norm(queries, axis=1, keepdims=True)
    if np.any(lengths == 0) or not np.all(np.isfinite(lengths)):
        raise ValueError("a query vector is zero or not finite")
    return (queries / lengths).astype(np.float32)


def nearest(
    vectors: np.ndarray, norms: np.ndarray, queries: np.ndarray, top_k: int,
    chunk_rows: int = CHUNK_ROWS, threads: int | None = None,
) -> TopK:
    """The ``top_k`` words by cosine similarity to each query (one row of ``queries`` each).

    All queries share one matrix product per block of rows, the blocks split across ``threads``;
    nothing is excluded, as in gensim's ``most_similar`` with raw vectors.
    """
    valid = rankable(norms)
    check_top_k(top_k, int(valid.sum()))
    units = unit_queries(queries)

    def part(start: int, stop: int) -> ColumnTopK:
        best = ColumnTopK(units.shape[0], top_k)
        for rows, block in rankable_blocks(vectors, valid, chunk_rows, start, stop):
            best.add((block @ units.T) / norms[rows, None], rows)
        return best

    return ColumnTopK.merged(in_threads(part, vectors.shape[0], chunk_rows, threads))


def difference_neighbours(
    vectors: np.ndarray, norms: np.ndarray, pairs: list[tuple[int, int]], top_k: int
) -> TopK:
    """Row p: the words nearest to v_a - v_b for the p-th (a, b) pair of row indices."""
    pairs_array = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    queries = vectors[pairs_array[:, 0]] - vectors[pairs_array[:, 1]]
    return nearest(vectors, norms, queries, top_k)
