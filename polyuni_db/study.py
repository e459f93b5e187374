"""Study presets: the runs a report needs, ingested in one go. Runs already stored are skipped;
a run that cannot be had (Google News offline) is recorded, so the report says so."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from polyuni_db.errors import PolyuniError
from polyuni_db.findings import AnalysisSettings
from polyuni_db.executor import DEFAULT_EXECUTOR, RunOutcome, SweepStatus, run_all
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.sources.corpora import MINIMAL_CORPORA, load_corpus
from polyuni_db.compare import add_filtered_variant, compare, record_rotation_check
from polyuni_db.sources.control import RotationSource
from polyuni_db.sources.pretrained import DEFAULT_LABELS, GLOVE_50, GOOGLE_NEWS, MINILM, PretrainedSource
from polyuni_db.sources.trained import TrainedSource, default_train_label
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT

PRESETS = ("blog", "quick", "controls")
MINIMAL_DIMS = (2, 3, 4)
TOP_K = 10
CONTROL_CORPORA = ("brown", "abc", "movie_reviews", "webtext", "state_union", "lee_background", "head500")
CONTROL_SEEDS = (1, 2, 3)
CONTROL_DIM = 50
CONTROL_WORDS = 5_000  # shared words per comparison in the preset: keeps it within 15 minutes here
FILTER_MIN_COUNT = 5


@dataclass(frozen=True)
class PlannedRun:
    label: str
    requested: str  # in words, for the report when it cannot be had
    build: Callable[[Path], tuple[Source, AnalysisSettings]]  # given the database; runs in the driver
    trained: bool = False
    after: tuple[str, ...] = ()  # labels that must be stored before this run is built


StudyOutcome = RunOutcome


def _pretrained(name: str) -> PlannedRun:
    return PlannedRun(
        DEFAULT_LABELS.get(name, name), f"pretrained {name}",
        lambda db_path: (PretrainedSource(name), AnalysisSettings(top_k=TOP_K)),
    )


def _rotation(of: str, seed: int) -> PlannedRun:
    return PlannedRun(
        f"{of}_rot{seed}", f"rotation of {of} (seed {seed})",
        lambda db_path: (RotationSource(db_path, of, seed), AnalysisSettings(top_k=TOP_K)), after=(of,),
    )


def _trained(read: Callable, corpus_name: str, dim: int, seed: int = 1) -> PlannedRun:
    def build(db_path: Path) -> tuple[Source, AnalysisSettings]:
        sentences = read(corpus_name)
        vocabulary = len({token for sentence in sentences.sentences for token in sentence})
        # the minimal corpora have fewer than ten words: rank all of them
        return TrainedSource(sentences, dim, seed), AnalysisSettings(top_k=min(TOP_K, vocabulary))

    return PlannedRun(default_train_label(corpus_name, dim, seed),
                      f"word2vec on {corpus_name}, {dim} dimensions, seed {seed}", build, trained=True)


def plan(preset: str, with_google_news: bool = False) -> list[PlannedRun]:
    """``blog``: the published study's models; ``quick``: a small subset for tests and a first look;
    ``controls``: seven corpora at 50 dimensions x 3 seeds, GloVe, its rotation and MiniLM."""
    read = cache(load_corpus)  # each corpus is read once per study
    if preset == "blog":
        runs = [_trained(read, name, dim) for name in MINIMAL_CORPORA for dim in MINIMAL_DIMS]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "brown", dim) for dim in (3, 40, 50, 60)]
    elif preset == "quick":
        runs = [_trained(read, "corpus_4", dim) for dim in MINIMAL_DIMS] + [_trained(read, "corpus_bark", 2)]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "lee_background", dim) for dim in (10, 20)]
    elif preset == "controls":
        runs = [_trained(read, name, CONTROL_DIM, seed) for name in CONTROL_CORPORA for seed in CONTROL_SEEDS]
        runs += [_pretrained(GLOVE_50), _rotation("glove", 1), _pretrained(MINILM)]
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
    executor: str = DEFAULT_EXECUTOR,
    bundles: Path | None = None,
    on_status: Callable[[SweepStatus], None] = lambda status: None,
) -> list[StudyOutcome]:
    """Ingest every run of the preset on the executor; one that fails is recorded and the others go on."""
    planned = plan(preset, with_google_news)
    outcomes = run_all(db_path, planned, executor, bundles, track=track, progress=progress,
                       lock_timeout=lock_timeout, on_outcome=on_outcome, on_status=on_status)
    trained = [run.label for run, outcome in zip(planned, outcomes) if run.trained and outcome.result is not None]
    if preset == "controls":
        _controls(db_path, [o.label for o in outcomes if o.result is not None], trained, progress, lock_timeout)
    return outcomes


def _controls(db_path: Path, labels: list[str], trained: list[str], progress: Progress, lock_timeout: float) -> None:
    """What the controls section needs beyond the runs: filtered variants of the trained runs, the
    rotation check, and every pair compared (pairs compared before with these settings are kept)."""
    for label in trained:
        add_filtered_variant(db_path, label, FILTER_MIN_COUNT, lock_timeout=lock_timeout)
    if {"glove", "glove_rot1"} <= set(labels):
        record_rotation_check(db_path, "glove", "glove_rot1", lock_timeout)
    compare(db_path, labels, n_words=CONTROL_WORDS, progress=progress, lock_timeout=lock_timeout)
