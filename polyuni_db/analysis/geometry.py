"""Geometry of small models (Approach 1): the cosine and angle of every pair of words."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class PairGeometry(NamedTuple):
    """Pairs i < j of word indices, their cosine, and the angle between them in degrees."""

    first: np.ndarray
    second: np.ndarray
    cosine: np.ndarray
    angle_degrees: np.ndarray


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """The cosine of every pair of rows, in float64; NaN where a vector is zero."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (matrix @ matrix.T) / np.outer(norms, norms)


def pair_geometry(vectors: np.ndarray) -> PairGeometry:
    """Every unordered pair of rows; pairs with a zero vector get NaN (no direction, no angle)."""
    cosines = cosine_matrix(vectors)
    first, second = np.triu_indices(cosines.shape[0], k=1)
    cosine = np.clip(cosines[first, second], -1.0, 1.0)
    return PairGeometry(first, second, cosine, np.degrees(np.arccos(cosine)))
