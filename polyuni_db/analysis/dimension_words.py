"""Dimension words (the study's Approach 3): for each axis, the words whose vectors point closest
to it. cos(v_w, +e_d) = v_w[d] / |v_w|, so one pass over the matrix serves every dimension."""
from __future__ import annotations

import numpy as np

from polyuni_db.analysis.ranking import (
    CHUNK_ROWS,
    ColumnTopK,
    TopK,
    check_top_k,
    in_threads,
    rankable,
    rankable_blocks,
    row_norms,
)

POLES = ("max", "min")  # +e_d and -e_d


def dimension_words(
    vectors: np.ndarray, top_k: int, norms: np.ndarray | None = None, chunk_rows: int = CHUNK_ROWS,
    threads: int | None = None,
) -> dict[str, TopK]:
    """The ``top_k`` words of every dimension for both poles, as ``{"max": TopK, "min": TopK}``.

    Row d of each TopK is dimension d. Words and order equal gensim's ``most_similar`` with the
    query ``±e_d`` (ties go to the earlier word); zero and non-finite vectors are left out. The
    matrix is read once, a block at a time, split across ``threads`` (default: ``kernel_threads()``):
    no normalised copy is made.
    """
    if norms is None:
        norms = row_norms(vectors, chunk_rows, threads)
    valid = rankable(norms)
    check_top_k(top_k, int(valid.sum()))
    n_dims = vectors.shape[1]

    def part(start: int, stop: int) -> dict[str, ColumnTopK]:
        best = {pole: ColumnTopK(n_dims, top_k) for pole in POLES}
        # one buffer of each kind per thread, reused by every block: no allocation, no page faults, in the
        # loop; no larger than the thread's rows (a 9-word model needs 9 rows, not a block's 2,048)
        buffer_rows = min(chunk_rows, stop - start)
        cosine_buffer = np.empty((buffer_rows, n_dims), dtype=np.float32)
        mask_buffer = np.empty((buffer_rows, n_dims), dtype=bool)
        for rows, block in rankable_blocks(vectors, valid, chunk_rows, start, stop):
            cosines = np.divide(block, norms[rows, None], out=cosine_buffer[: rows.size])
            mask = mask_buffer[: rows.size]
            best["max"].add(cosines, rows, mask=mask)
            best["min"].add(cosines, rows, negate=True, mask=mask)  # cos(v, -e_d) = -cos(v, e_d)
        return best

    parts = in_threads(part, vectors.shape[0], chunk_rows, threads)
    return {pole: ColumnTopK.merged([found[pole] for found in parts]) for pole in POLES}
