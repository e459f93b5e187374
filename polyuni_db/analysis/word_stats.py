"""Per-word facts that explain dimension words: which vectors training moved, and how far."""
from __future__ import annotations

import numpy as np


def relative_movement(initial: np.ndarray, final: np.ndarray) -> np.ndarray:
    """|v - v0| / |v0| per word: how far training moved each vector from its random initial value.

    Zero exactly when training never changed the vector, whatever the reason: a word alone in every
    sentence, tokens dropped by down-sampling, or past gensim's 10,000-token cap of a sentence.
    (A zero initial vector that moved gives inf; gensim never draws one.)
    """
    initial = np.asarray(initial, dtype=np.float64)
    change = np.linalg.norm(np.asarray(final, dtype=np.float64) - initial, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(change == 0, 0.0, change / np.linalg.norm(initial, axis=1))


def was_trained(moved: np.ndarray) -> np.ndarray:
    """A word counts as trained when training changed its vector at all."""
    return np.asarray(moved) > 0
