"""Per-word facts that explain dimension words: which vectors were ever trained."""
from __future__ import annotations

from typing import Iterable

import numpy as np


def trained_mask(sentences: Iterable[list[str]], key_to_index: dict[str, int]) -> np.ndarray:
    """True for a word that has another in-vocabulary token in some sentence.

    Word2Vec updates a vector only for a (word, context) pair inside the window, and the window
    is at least 1, so a word that only ever stands alone (after words under min_count are
    dropped) keeps its random initial vector.
    """
    trained = np.zeros(len(key_to_index), dtype=bool)
    for sentence in sentences:
        indices = [key_to_index[token] for token in sentence if token in key_to_index]
        if len(indices) >= 2:
            trained[indices] = True
    return trained
