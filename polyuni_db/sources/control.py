"""Control runs made from a stored run: its vectors times a random orthogonal matrix.

Every cosine similarity between words stays the same, yet every axis, and so every dimension word,
changes: whatever survives in the axis-aligned comparison after rotation is not about the basis.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from polyuni_db.analysis.similarity import random_rotation
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.store.read import StoredRun, load_run


@dataclass(frozen=True)
class RotationSource:
    """The run labelled ``of``, rotated by the orthogonal matrix drawn from ``seed``."""

    db_path: Path
    of: str
    seed: int
    kind: str = "control"

    @cached_property
    def _stored(self) -> StoredRun:
        """The run to rotate, read once (spec, columns and load all need it)."""
        return load_run(self.db_path, self.of)

    def spec(self) -> dict:
        return {"source": "rotation", "of": self._stored.fingerprint, "of_label": self.of,
                "seed": self.seed, "rotation": "Haar-random orthogonal, QR of a Gaussian (numpy default_rng)"}

    def default_label(self) -> str:
        return f"{self.of}_rot{self.seed}"

    def run_columns(self) -> dict:
        return {"model_name": f"rotation of {self.of}", "corpus": self._stored.corpus, "seed": self.seed}

    def load(self, progress: Progress = no_progress) -> Embedding:
        progress(0, 1, f"rotating {self.of}")
        stored = self._stored
        rotation = random_rotation(stored.vectors.shape[1], self.seed)
        vectors = (np.asarray(stored.vectors, dtype=np.float64) @ rotation).astype(np.float32)
        progress(1, 1, f"rotating {self.of}")
        return Embedding(words=stored.words, vectors=vectors, counts=stored.counts, moved=stored.moved,
                         metadata={"rotated_from": self.of})
