"""Basis-invariant similarity between two models over the same words, and its permutation null.

Rows of ``x`` and ``y`` are the same words in the same order. Linear CKA (Kornblith et al. 2019)
and mutual k-nearest-neighbour alignment (Huh et al. 2024) are unchanged by any rotation of either
model; dimension-word overlap after orthogonal Procrustes alignment asks whether the axes agree
once the best rotation is allowed. Each score is set against the same score with the word
correspondence shuffled (Gröger et al. 2026: raw scores mean little without such a null).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.neighbours import nearest
from polyuni_db.analysis.ranking import row_norms


class Scored(NamedTuple):
    value: float
    null_mean: float
    null_sd: float
    calibrated: float  # (value - null mean) / null sd
    p_value: float  # (1 + #null >= value) / (1 + permutations)


def random_rotation(dim: int, seed: int | np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix: QR of a Gaussian matrix, signs fixed by R's diagonal."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def _centred(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """||Yᵀ X||²_F / (||Xᵀ X||_F ||Yᵀ Y||_F) on column-centred x and y."""
    x, y = _centred(x), _centred(y)
    return float(np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)))


def knn_indices(x: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows by cosine similarity (n x k); rows must be non-zero."""
    x = np.asarray(x, dtype=np.float32)
    found = nearest(x, row_norms(x), x, k + 1).indices
    # drop the row itself (first, unless an identical earlier row took its place: then drop the last)
    is_self = found == np.arange(x.shape[0])[:, None]
    is_self[~is_self.any(axis=1), -1] = True
    return found[~is_self].reshape(x.shape[0], k)


def mutual_knn(neighbours_x: np.ndarray, neighbours_y: np.ndarray) -> float:
    """Mean share of each word's k nearest neighbours that the two models have in common."""
    k = neighbours_x.shape[1]
    shared = (neighbours_x[:, :, None] == neighbours_y[:, None, :]).any(axis=2).sum(axis=1)
    return float(shared.mean() / k)


def procrustes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The orthogonal R minimising ||x R - y||_F (equal dimensions)."""
    u, _, vt = np.linalg.svd(np.asarray(x, dtype=np.float64).T @ np.asarray(y, dtype=np.float64))
    return u @ vt


def dimension_word_set(x: np.ndarray, k: int = 5) -> set[int]:
    """Rows among the top k of any dimension, 'max' pole: the published study's set."""
    return set(dimension_words(np.asarray(x, dtype=np.float32), k)["max"].indices.ravel().tolist())


def procrustes_overlap(x: np.ndarray, y: np.ndarray, k: int = 5) -> int:
    """Dimension words in common once x is rotated onto y."""
    return len(dimension_word_set(x @ procrustes(x, y), k) & dimension_word_set(y, k))


def against_null(value: float, null: np.ndarray) -> Scored:
    null = np.asarray(null, dtype=np.float64)
    sd = float(null.std(ddof=1)) if null.size > 1 else float("nan")
    # a null that does not vary (sd at rounding level) calibrates nothing: NaN, not z = 1e15
    calibrated = (value - null.mean()) / sd if sd > 1e-9 * max(1.0, abs(float(null.mean()))) else float("nan")
    return Scored(float(value), float(null.mean()), sd, float(calibrated),
                  float((1 + np.sum(null >= value)) / (1 + null.size)))


def permutation_scores(x: np.ndarray, y: np.ndarray, permutations: int, seed: int, k: int = 10,
                       neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Scored]:
    """CKA, mutual k-NN and (equal dimensions) Procrustes overlap, each against ``permutations``
    shufflings of which row of y belongs to which row of x. ``neighbours``: the k-NN indices of x
    and y when already known."""
    rng = np.random.default_rng(seed)
    shuffles = [rng.permutation(x.shape[0]) for _ in range(permutations)]
    xc, yc = _centred(x), _centred(y)
    x_norm, y_norm = np.linalg.norm(xc.T @ xc), np.linalg.norm(yc.T @ yc)

    def cka(order: np.ndarray | None) -> float:
        shuffled = yc if order is None else yc[order]
        return float(np.linalg.norm(shuffled.T @ xc) ** 2 / (x_norm * y_norm))

    neighbours_x, neighbours_y = neighbours or (knn_indices(x, k), knn_indices(y, k))

    def knn(order: np.ndarray | None) -> float:
        if order is None:
            return mutual_knn(neighbours_x, neighbours_y)
        back = np.argsort(order)  # word i of the shuffled y is word order[i] of y
        return mutual_knn(neighbours_x, back[neighbours_y[order]])

    metrics: dict[str, Callable[[np.ndarray | None], float]] = {"linear_cka": cka, f"mutual_knn_{k}": knn}
    if x.shape[1] == y.shape[1]:
        y_set = dimension_word_set(y)

        def overlap(order: np.ndarray | None) -> float:
            rotation = procrustes(x, y if order is None else y[order])
            return float(len(dimension_word_set(x @ rotation) & y_set))

        metrics["procrustes_overlap_5"] = overlap
    return {name: against_null(score(None), [score(order) for order in shuffles]) for name, score in metrics.items()}


def max_cosine_change(x: np.ndarray, rotated: np.ndarray, rows: int = 2_000) -> float:
    """The largest change of any pairwise cosine among the first ``rows`` words."""
    def cosines(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m[:rows], dtype=np.float64)
        unit = m / np.linalg.norm(m, axis=1, keepdims=True)
        return unit @ unit.T

    return float(np.abs(cosines(x) - cosines(rotated)).max())
