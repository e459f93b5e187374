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


def pair_geometry(vectors: np.ndarray) -> PairGeometry:
    """Every unordered pair of rows; pairs with a zero vector get NaN (no direction, no angle)."""
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosines = (matrix @ matrix.T) / np.outer(norms, norms)
    first, second = np.triu_indices(matrix.shape[0], k=1)
    cosine = np.clip(cosines[first, second], -1.0, 1.0)
    return PairGeometry(first, second, cosine, np.degrees(np.arccos(cosine)))
