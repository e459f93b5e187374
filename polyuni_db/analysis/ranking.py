"""Top-k by cosine similarity, ordered as gensim's ``KeyedVectors.most_similar`` orders them."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, NamedTuple, TypeVar

import numpy as np

# Rows per block: small enough that a block and its temporaries stay in cache, so a pass over a
# large matrix holds only a few MB beyond the matrix itself.
CHUNK_ROWS = 2_048
T = TypeVar("T")


class TopK(NamedTuple):
    """``indices[q, r]`` is the word of rank r + 1 for query q; ``similarities`` its cosine."""

    indices: np.ndarray
    similarities: np.ndarray


def kernel_threads() -> int:
    """Threads for the kernels: OMP_NUM_THREADS when set (Dask sets it to 1 in each single-threaded
    worker, so that workers do not compete for cores), else every core this process may use."""
    setting = os.environ.get("OMP_NUM_THREADS", "")
    return int(setting) if setting.isdigit() and int(setting) >= 1 else len(os.sched_getaffinity(0))


def in_threads(work: Callable[[int, int], T], n_rows: int, chunk_rows: int = CHUNK_ROWS,
               threads: int | None = None) -> list[T]:
    """``work(start, stop)`` on contiguous row ranges (whole blocks), one per thread, in row order.

    numpy releases the GIL inside its array operations, so the ranges are read in parallel; each
    range keeps its own top-k, merged after (exact: ties still go to the earlier row).
    """
    threads = threads or kernel_threads()
    n_blocks = -(-n_rows // chunk_rows)
    threads = max(1, min(threads, n_blocks))
    if threads == 1:
        return [work(0, n_rows)]
    bounds = [min(n_rows, (n_blocks * i // threads) * chunk_rows) for i in range(threads + 1)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, bounds[:-1], bounds[1:]))


def row_norms(vectors: np.ndarray, chunk_rows: int = CHUNK_ROWS, threads: int | None = None) -> np.ndarray:
    """Euclidean norm of every row, as gensim's ``fill_norms`` computes it, block by block."""
    norms = np.empty(vectors.shape[0], dtype=np.float32)

    def part(first: int, stop: int) -> None:
        for start in range(first, stop, chunk_rows):
            end = min(start + chunk_rows, stop)
            norms[start:end] = np.linalg.norm(vectors[start:end], axis=1)

    in_threads(part, vectors.shape[0], chunk_rows, threads)
    return norms


def rankable(norms: np.ndarray) -> np.ndarray:
    """Rows that have a direction: zero, NaN and infinite vectors take no part in cosine ranking."""
    return np.isfinite(norms) & (norms > 0)


def rankable_blocks(vectors: np.ndarray, valid: np.ndarray, chunk_rows: int, first: int = 0,
                    stop: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row indices, rows) of successive blocks of rows first to stop, without the rows that cannot be ranked."""
    stop = vectors.shape[0] if stop is None else stop
    for start in range(first, stop, chunk_rows):
        end = min(start + chunk_rows, stop)
        keep = valid[start:end]
        rows = np.flatnonzero(keep) + start
        if rows.size == 0:
            continue
        block = np.asarray(vectors[start:end])
        yield rows, (block if rows.size == keep.size else block[keep])


def check_top_k(top_k: int, n_rankable: int) -> None:
    if top_k < 1:
        raise ValueError(f"top-k must be at least 1, not {top_k}")
    if top_k > n_rankable:
        raise ValueError(f"top-k {top_k} is larger than the {n_rankable} rankable words")


class ColumnTopK:
    """The k highest scores in every column of a matrix seen one block of rows at a time.

    Blocks must come in increasing row order. Once k rows are held, a column's k-th best score
    is a threshold: only scores strictly above it can enter (an equal score comes from a later
    row and loses the tie, as the earlier word wins), so most blocks cost one comparison per value.
    """

    def __init__(self, n_columns: int, k: int) -> None:
        self.k = k
        self.scores = np.full((k, n_columns), -np.inf, dtype=np.float32)
        self.rows = np.full((k, n_columns), np.iinfo(np.int64).max, dtype=np.int64)
        self.threshold = np.full(n_columns, -np.inf, dtype=np.float32)

    def add(self, scores: np.ndarray, rows: np.ndarray, negate: bool = False, mask: np.ndarray | None = None) -> None:
        """``scores[i, c]`` is row ``rows[i]``'s score in column c (``-scores`` with ``negate``).

        ``mask``, a bool array of ``scores``' shape, saves an allocation per block.
        """
        n_columns = self.scores.shape[1]
        if negate:
            above = np.less(scores, -self.threshold, out=mask)
        else:
            above = np.greater(scores, self.threshold, out=mask)
        if scores.shape[0] > self.k and not np.isfinite(self.threshold).all():
            # nothing held yet in some column (the first block): keep each column's k best, and
            # everything tied with the k-th, so that the earlier row can still win a tie
            signed = -scores if negate else scores
            kth = np.partition(signed, scores.shape[0] - self.k, axis=0)[scores.shape[0] - self.k]
            above &= signed >= kth
        hits = np.flatnonzero(above)  # much faster than a 2-D nonzero
        if hits.size == 0:
            return
        hit_rows, hit_columns = np.divmod(hits, n_columns)
        hit_scores = scores.ravel()[hits]
        if negate:
            hit_scores = -hit_scores
        # merge only the columns that changed: after the first blocks, a handful per block
        columns, slot = np.unique(hit_columns, return_inverse=True)
        n_changed = columns.size
        all_scores = np.concatenate([self.scores[:, columns].T.ravel(), hit_scores])
        all_rows = np.concatenate([self.rows[:, columns].T.ravel(), rows[hit_rows]])
        all_slots = np.concatenate([np.repeat(np.arange(n_changed), self.k), slot])
        order = np.lexsort((all_rows, -all_scores, all_slots))
        first = np.searchsorted(all_slots[order], np.arange(n_changed))
        keep = order[first[:, None] + np.arange(self.k)]  # every column has at least k entries
        self.scores[:, columns] = all_scores[keep].T
        self.rows[:, columns] = all_rows[keep].T
        self.threshold[columns] = self.scores[-1, columns]

    def result(self) -> TopK:
        """One row per column, best first; ties go to the earlier row."""
        return TopK(indices=self.rows.T.copy(), similarities=self.scores.T.copy())

    @staticmethod
    def merged(parts: list[ColumnTopK]) -> TopK:
        """The k best of several, as one pass over all their rows gives: best first, ties to the earlier row."""
        if len(parts) == 1:
            return parts[0].result()
        scores = np.concatenate([part.scores for part in parts])
        rows = np.concatenate([part.rows for part in parts])
        order = np.lexsort((rows, -scores), axis=0)[: parts[0].k]
        return TopK(indices=np.take_along_axis(rows, order, axis=0).T.copy(),
                    similarities=np.take_along_axis(scores, order, axis=0).T.copy())
