"""Study presets: the runs a report needs, ingested in one go. Runs already stored are skipped;
a run that cannot be had (Google News offline) is recorded, so the report says so."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from polyuni_db.errors import PolyuniError
from polyuni_db.findings import AnalysisSettings
from polyuni_db.pipeline import IngestResult, ingest
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.sources.corpora import MINIMAL_CORPORA, load_corpus
from polyuni_db.sources.pretrained import DEFAULT_LABELS, GLOVE_50, GOOGLE_NEWS, PretrainedSource
from polyuni_db.sources.trained import TrainedSource, default_train_label
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.write import record_unavailable

PRESETS = ("blog", "quick")
MINIMAL_DIMS = (2, 3, 4)
TOP_K = 10


@dataclass(frozen=True)
class PlannedRun:
    label: str
    requested: str  # in words, for the report when it cannot be had
    build: Callable[[], tuple[Source, AnalysisSettings]]


@dataclass(frozen=True)
class StudyOutcome:
    label: str
    result: IngestResult | None  # None when the run could not be had
    error: str | None = None


def _pretrained(name: str) -> PlannedRun:
    return PlannedRun(
        DEFAULT_LABELS.get(name, name), f"pretrained {name}",
        lambda: (PretrainedSource(name), AnalysisSettings(top_k=TOP_K)),
    )


def _trained(read: Callable, corpus_name: str, dim: int, seed: int = 1) -> PlannedRun:
    def build() -> tuple[Source, AnalysisSettings]:
        sentences = read(corpus_name)
        vocabulary = len({token for sentence in sentences.sentences for token in sentence})
        # the minimal corpora have fewer than ten words: rank all of them
        return TrainedSource(sentences, dim, seed), AnalysisSettings(top_k=min(TOP_K, vocabulary))

    return PlannedRun(default_train_label(corpus_name, dim, seed), f"word2vec on {corpus_name}, {dim} dimensions, seed {seed}", build)


def plan(preset: str, with_google_news: bool = False) -> list[PlannedRun]:
    """``blog``: the published study's models; ``quick``: a small subset for tests and a first look."""
    read = cache(load_corpus)  # each corpus is read once per study
    if preset == "blog":
        runs = [_trained(read, name, dim) for name in MINIMAL_CORPORA for dim in MINIMAL_DIMS]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "brown", dim) for dim in (3, 40, 50, 60)]
    elif preset == "quick":
        runs = [_trained(read, "corpus_4", dim) for dim in MINIMAL_DIMS] + [_trained(read, "corpus_bark", 2)]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "lee_background", dim) for dim in (10, 20)]
    else:
        raise PolyuniError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    if with_google_news:
        runs.append(_pretrained(GOOGLE_NEWS))
    return runs


def run_study(
    db_path: Path,
    preset: str,
    with_google_news: bool = False,
    track: bool = True,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_outcome: Callable[[StudyOutcome], None] = lambda outcome: None,
) -> list[StudyOutcome]:
    """Ingest every run of the preset; one that fails is recorded and the others go on."""
    outcomes = []
    for planned in plan(preset, with_google_news):
        try:
            source, settings = planned.build()
            outcome = StudyOutcome(planned.label, ingest(
                source, db_path, label=planned.label, settings=settings, track=track,
                progress=progress, lock_timeout=lock_timeout,
            ))
        except PolyuniError as error:
            record_unavailable(db_path, planned.label, planned.requested, str(error), lock_timeout)
            outcome = StudyOutcome(planned.label, None, str(error))
        on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes
