"""The plain object every source yields, and the interface a source implements."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from polyuni_db.analysis.word_stats import was_trained

# Called with (completed, total, description); sources report long work through it.
Progress = Callable[[int, int, str], None]


def no_progress(completed: int, total: int, description: str) -> None:
    """A Progress that shows nothing (library use, tests)."""


# Called with a phase's name ("runs", "comparisons", ...) around the phase of a study or sweep; the
# command line says when each starts and how long it took.
Phase = Callable[[str], AbstractContextManager]


def no_phase(name: str) -> AbstractContextManager:
    """A Phase that says nothing (library use, tests)."""
    return nullcontext()


@dataclass(frozen=True)
class Embedding:
    """Word vectors from any source: ``vectors[i]`` is the vector of ``words[i]``.

    ``counts``, ``moved`` and ``initial_vectors`` exist only for models trained here: how often each
    word occurs in the corpus, how far training moved its vector (|v - v0| / |v0|; 0 for a vector
    training never changed, see ``analysis.word_stats``) and the random vectors training started from.
    ``metadata`` records how the vectors were obtained (provider, seconds, versions) without being
    part of the fingerprint.
    """

    words: list[str]
    vectors: np.ndarray
    counts: np.ndarray | None = None
    moved: np.ndarray | None = None
    initial_vectors: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(
                f"{len(self.words)} words but vectors of shape {self.vectors.shape}"
            )

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def trained(self) -> np.ndarray | None:
        """Whether training changed each word's vector at all (None when unknown: pretrained)."""
        return None if self.moved is None else was_trained(self.moved)


class Source(Protocol):
    """Where a run's vectors come from.

    ``spec()`` is cheap and describes everything that determines the vectors; the run's fingerprint
    is computed from it, so an ingest that is already done is skipped without loading anything.
    """

    kind: str

    def spec(self) -> dict: ...

    def default_label(self) -> str: ...

    def run_columns(self) -> dict:
        """The ``runs`` columns this source knows: model_name, corpus, seed."""
        ...

    def load(self, progress: Progress = no_progress) -> Embedding: ...
