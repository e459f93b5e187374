"""Superposition measures of Elhage et al. 2022 (*Toy Models of Superposition*), with words as the
features and the word vectors as the rows of W.

Every measure here depends on W only through the Gram matrix W Wᵀ, so it is the same in any
rotated basis: unlike dimension words, it asks how words share the space, not which axes they use.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

BLOCK_ROWS = 2_048  # rows of W Wᵀ at a time: a few MB, whatever the number of words


class Superposition(NamedTuple):
    """Per word; NaN for a zero or non-finite vector, which takes no part in the others' values."""

    dimensionality: np.ndarray  # D_i on the vectors as they are
    dimensionality_unit: np.ndarray  # D_i on unit-normalised vectors
    max_interference: np.ndarray  # the largest |cosine| to another word


def _finite_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The matrix in float64 with zero and non-finite rows set to 0, and which rows are valid."""
    matrix = np.asarray(vectors, dtype=np.float64)
    finite = np.isfinite(matrix).all(axis=1)
    matrix = np.where(finite[:, None], matrix, 0.0)
    return matrix, finite & (np.einsum("ij,ij->i", matrix, matrix) > 0)


def feature_dimensionality(vectors: np.ndarray) -> np.ndarray:
    """D_i = |W_i|² / Σ_j (Ŵ_i · W_j)², Elhage et al.'s feature dimensionality.

    The sum includes j = i, so D_i is at most 1 (a word alone in its own direction), 1/2 for two
    equal words sharing one direction, and Σ_i D_i is at most the rank of W (so at most the
    number of dimensions). Since Σ_j (Ŵ_i · W_j)² = Σ_j (W_i · W_j)² / |W_i|², only W Wᵀ is needed.
    """
    matrix, valid = _finite_rows(vectors)
    squared_norms = np.einsum("ij,ij->i", matrix, matrix)
    squared_products = np.empty(len(matrix))
    for start in range(0, len(matrix), BLOCK_ROWS):
        gram = matrix[start:start + BLOCK_ROWS] @ matrix.T
        squared_products[start:start + BLOCK_ROWS] = np.einsum("ij,ij->i", gram, gram)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(valid, squared_norms ** 2 / squared_products, np.nan)


def max_interference(vectors: np.ndarray) -> np.ndarray:
    """Each word's largest |cosine| to another word (NaN when there is no other valid word)."""
    matrix, valid = _finite_rows(vectors)
    unit = np.zeros_like(matrix)
    unit[valid] = matrix[valid] / np.linalg.norm(matrix[valid], axis=1)[:, None]
    largest = np.full(len(matrix), np.nan)
    if valid.sum() < 2:
        return largest
    for start in range(0, len(matrix), BLOCK_ROWS):
        cosines = np.abs(unit[start:start + BLOCK_ROWS] @ unit.T)
        rows = np.arange(cosines.shape[0])
        cosines[rows, start + rows] = -1.0  # not the word itself
        cosines[:, ~valid] = -1.0
        largest[start:start + BLOCK_ROWS] = np.minimum(cosines.max(axis=1), 1.0)
    largest[~valid] = np.nan
    return largest


def superposition(vectors: np.ndarray) -> Superposition:
    """Feature dimensionality on the vectors and on their unit-normalised copies, and interference."""
    matrix, valid = _finite_rows(vectors)
    unit = np.zeros_like(matrix)
    unit[valid] = matrix[valid] / np.linalg.norm(matrix[valid], axis=1)[:, None]
    return Superposition(
        np.where(valid, feature_dimensionality(matrix), np.nan),
        np.where(valid, feature_dimensionality(unit), np.nan),
        max_interference(matrix),
    )
