"""Dimension words (the study's Approach 3): for each axis, the words whose vectors point closest
to it. cos(v_w, +e_d) = v_w[d] / |v_w|, so one pass over the matrix serves every dimension."""
from __future__ import annotations

import numpy as np

from polyuni_db.analysis.ranking import (
    CHUNK_ROWS,
    TopK,
    check_top_k,
    merge_top_k,
    order_top_k,
    rankable,
    row_norms,
)

POLES = ("max", "min")  # +e_d and -e_d


def dimension_words(
    vectors: np.ndarray, top_k: int, norms: np.ndarray | None = None, chunk_rows: int = CHUNK_ROWS
) -> dict[str, TopK]:
    """The ``top_k`` words of every dimension for both poles, as ``{"max": TopK, "min": TopK}``.

    Row d of each TopK is dimension d. Words and order equal gensim's ``most_similar`` with the
    query ``±e_d`` (ties go to the earlier word); zero and non-finite vectors are left out.
    """
    if norms is None:
        norms = row_norms(vectors, chunk_rows)
    valid = rankable(norms)
    check_top_k(top_k, int(valid.sum()))
    n_dims = vectors.shape[1]
    best = {
        pole: (np.empty((0, n_dims), np.float32), np.empty((0, n_dims), np.int64)) for pole in POLES
    }
    for start in range(0, vectors.shape[0], chunk_rows):
        keep = valid[start:start + chunk_rows]
        rows = np.flatnonzero(keep) + start
        if rows.size == 0:
            continue
        cosines = np.asarray(vectors[start:start + chunk_rows])[keep] / norms[rows, None]
        row_ids = np.broadcast_to(rows[:, None], cosines.shape)
        for pole, scores in (("max", cosines), ("min", -cosines)):
            best[pole] = merge_top_k(*best[pole], scores, row_ids, top_k)
    return {pole: order_top_k(*best[pole]) for pole in POLES}
