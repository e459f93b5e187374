"""Study presets: the runs a report needs, ingested in one go. Runs already stored are skipped;
a run that cannot be had (Google News offline) is recorded, so the report says so."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from polyuni_db.errors import PolyuniError
from polyuni_db.executor import DEFAULT_EXECUTOR, RunOutcome, SweepStatus, run_all
from polyuni_db.findings import DEFAULT_PAIRS, AnalysisSettings
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.sources.corpora import MINIMAL_CORPORA, load_corpus
from polyuni_db.compare import DEFAULT_PERMUTATIONS, add_filtered_variant, compare, record_rotation_check, rotation_nulls
from polyuni_db.features import FeatureSettings, compute_features, match_features
from polyuni_db.sources.control import RotationSource
from polyuni_db.planted import record_feature_recovery, record_recovery
from polyuni_db.sources.pretrained import DEFAULT_LABELS, GLOVE_50, GOOGLE_NEWS, MINILM, PretrainedSource
from polyuni_db.sources.fasttext import FastTextSource
from polyuni_db.sources.ppmi_svd import PpmiSvdSource
from polyuni_db.sources.pseudowords import plant_pseudowords, planted_name
from polyuni_db.sources.trained import TrainedSource, TrainParams
from polyuni_db.sources.training import DEFAULT_ALGORITHM, default_train_label
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.write import record_unavailable

PRESETS = ("blog", "quick", "controls", "families")
MINIMAL_DIMS = (2, 3, 4)
# The minimal corpora whose sentences have more than one word. corpus_2 to corpus_5 are one-word
# sentences: a word never has a context, so no setting can train them.
TOY_CORPORA = ("corpus_bark", "corpus_translate", "corpus_food", "corpus_capital_small", "corpus_capital")
TOY_SEEDS = tuple(range(1, 21))
# With the published settings (gensim's sample=1e-3) down-sampling drops nearly every token of these
# corpora and no vector moves. Trained variants turn it off and train until the loss has converged:
# scripts/toy_convergence.py measured the loss of the last tenth of training at 1,000 epochs within
# 0.4-3.2 % of 2,000 epochs' on every corpus, where 50 epochs leave it 1.3-2.2 times as large (README).
TOY_EPOCHS = 1000
TOY_PARAMS = TrainParams(sample=0, epochs=TOY_EPOCHS)
TOP_K = 10
CONTROL_CORPORA = ("brown", "abc", "movie_reviews", "webtext", "state_union", "lee_background", "head500")
CONTROL_SEEDS = (1, 2, 3)
CONTROL_DIM = 50
CONTROL_WORDS = 5_000  # shared words per comparison in the preset: keeps it within 15 minutes here
FILTER_MIN_COUNT = 5
# Mid-sized corpora of three genres (news, speeches, web text): fastText trains on each in about a
# minute here, where Brown takes three.
FAMILY_CORPORA = ("lee_background", "state_union", "webtext")
# Feature sets per preset: settings and the runs (None: every run of the preset). The controls'
# smallest corpora have a few thousand trained words: too few for some, which are then left out.
FEATURE_PRESETS = {
    "blog": (FeatureSettings(), ("glove", "brown_40", "brown_50", "brown_60")),
    "controls": (FeatureSettings(), None),
}
# Every run gets two feature sets from independent dictionary seeds (its seed ceiling), and seeds of
# its own: two runs on the same words (a run and its rotation, two seeds of one corpus) fitted from
# one seed share an initialisation, and their agreement would be set, not learnt.
FEATURE_SEEDS_PER_RUN = 2
PLANTED_CORPUS = "brown"  # ground truth: pseudowords planted in Brown, measured against the brown_50 runs
PLANTED_PSEUDOWORDS = 50
PLANTED_SEED = 1
# Random rotations behind the headline table's baseline. The quick preset is a first look: its
# pairs with GloVe rotate GloVe's 400,000 words, so it takes fewer.
ROTATIONS = {"blog": DEFAULT_PERMUTATIONS, "quick": 20, "controls": DEFAULT_PERMUTATIONS,
             "families": DEFAULT_PERMUTATIONS}


@dataclass(frozen=True)
class PlannedRun:
    label: str
    requested: str  # in words, for the report when it cannot be had
    build: Callable[[Path], tuple[Source, AnalysisSettings]]  # given the database; runs in the driver
    trained: bool = False
    reference: str | None = None  # a run with planted pseudowords: the run it is measured against
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


def _trained(read: Callable, corpus_name: str, dim: int, seed: int | None = 1, params: TrainParams = TrainParams(),
             suffix: str = "", pairs: tuple = DEFAULT_PAIRS, algorithm: str = DEFAULT_ALGORITHM) -> PlannedRun:
    def build(db_path: Path) -> tuple[Source, AnalysisSettings]:
        sentences = read(corpus_name)
        vocabulary = len({token for sentence in sentences.sentences for token in sentence})
        if algorithm == "ppmi-svd":
            source = PpmiSvdSource(sentences, dim)
        elif algorithm == "fasttext":
            source = FastTextSource(sentences, dim, seed, params)
        else:
            source = TrainedSource(sentences, dim, seed, params)
        # the minimal corpora have fewer than ten words: rank all of them
        settings = AnalysisSettings(top_k=min(TOP_K, vocabulary), pairs=pairs)
        return source, settings

    seed_text = "" if seed is None else f", seed {seed}"
    return PlannedRun(default_train_label(corpus_name, dim, seed, suffix, algorithm),
                      f"{algorithm} on {corpus_name}, {dim} dimensions{seed_text}{suffix and ', ' + suffix}",
                      build, trained=True)


def _family(read: Callable, corpus_name: str, algorithm: str, seed: int | None) -> PlannedRun:
    """One algorithm of the families preset at 50 dimensions, with Word2Vec's defaults (CBOW: sg 0)."""
    params = TrainParams(sg=0) if algorithm == "word2vec-cbow" else TrainParams()
    return _trained(read, corpus_name, CONTROL_DIM, seed, params, algorithm=algorithm)


def _planted(planted: Callable, corpus_name: str, dim: int, seed: int) -> PlannedRun:
    """Word2Vec on the corpus with pseudowords planted, measured against the same run without them."""
    def build(db_path: Path) -> tuple[Source, AnalysisSettings]:
        return TrainedSource(planted(corpus_name), dim, seed), AnalysisSettings(top_k=TOP_K)

    return PlannedRun(default_train_label(planted_name(corpus_name, PLANTED_PSEUDOWORDS, PLANTED_SEED), dim, seed),
                      f"word2vec on {corpus_name} with {PLANTED_PSEUDOWORDS} pseudowords, {dim} dimensions, seed {seed}",
                      build, trained=True, reference=default_train_label(corpus_name, dim, seed))


def _toy_trained(read: Callable, corpus_name: str, dim: int, seed: int) -> PlannedRun:
    """A trained variant of a toy model: ``corpus_bark_3_trained``, ``corpus_bark_3_trained_s2``. No
    difference pairs: their words are not in a toy corpus, and 300 runs of 'missing words' say nothing."""
    return _trained(read, corpus_name, dim, seed, TOY_PARAMS, suffix="trained", pairs=())


def plan(preset: str, with_google_news: bool = False, progress: Progress = no_progress) -> list[PlannedRun]:
    """``blog``: the published study's models, and trained variants of its co-occurrence corpora over
    20 seeds; ``quick``: a small subset for tests and a first look;
    ``controls``: seven corpora at 50 dimensions x 3 seeds, GloVe, its rotation and MiniLM, and Brown
    with 50 planted pseudowords at each seed; ``families``: three corpora x four algorithms at 50
    dimensions, seeds 1 to 3 (PPMI-SVD has none)."""
    read = cache(lambda name: load_corpus(name, progress=progress))  # each corpus is read once per study
    if preset == "blog":
        runs = [_trained(read, name, dim) for name in MINIMAL_CORPORA for dim in MINIMAL_DIMS]
        runs += [_toy_trained(read, name, dim, seed) for name in TOY_CORPORA for dim in MINIMAL_DIMS for seed in TOY_SEEDS]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "brown", dim) for dim in (3, 40, 50, 60)]
    elif preset == "quick":
        runs = [_trained(read, "corpus_4", dim) for dim in MINIMAL_DIMS] + [_trained(read, "corpus_bark", 2)]
        runs += [_toy_trained(read, "corpus_bark", dim, seed) for dim in (2, 3) for seed in (1, 2)]
        runs += [_pretrained(GLOVE_50)] + [_trained(read, "lee_background", dim) for dim in (10, 20)]
    elif preset == "families":
        runs = [_family(read, name, algorithm, seed) for name in FAMILY_CORPORA
                for algorithm in ("word2vec-sg", "word2vec-cbow", "fasttext") for seed in CONTROL_SEEDS]
        runs += [_family(read, name, "ppmi-svd", None) for name in FAMILY_CORPORA]
    elif preset == "controls":
        runs = [_trained(read, name, CONTROL_DIM, seed) for name in CONTROL_CORPORA for seed in CONTROL_SEEDS]
        planted = cache(lambda name: plant_pseudowords(read(name), PLANTED_PSEUDOWORDS, PLANTED_SEED))
        runs += [_planted(planted, PLANTED_CORPUS, CONTROL_DIM, seed) for seed in CONTROL_SEEDS]
        runs += [_pretrained(GLOVE_50), _rotation("glove", 1), _pretrained(MINILM)]
    else:
        raise PolyuniError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    if with_google_news:
        runs.append(_pretrained(GOOGLE_NEWS))
    return runs


def not_requested(preset: str, with_google_news: bool) -> list[tuple[str, str]]:
    """The published study's models that this preset leaves out, and why (label, reason)."""
    if preset == "blog" and not with_google_news:
        return [(DEFAULT_LABELS[GOOGLE_NEWS], "not requested: --with-google-news adds it, through gensim's "
                 "downloader (internet, 1.6 GB)")]
    return []


def run_study(
    db_path: Path,
    preset: str,
    with_google_news: bool = False,
    track: bool = True,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_outcome: Callable[[StudyOutcome], None] = lambda outcome: None,
    rotations: int | None = None,
    executor: str = DEFAULT_EXECUTOR,
    bundles: Path | None = None,
    on_status: Callable[[SweepStatus], None] = lambda status: None,
) -> list[StudyOutcome]:
    """Ingest every run of the preset on the executor; one that fails is recorded and the others go on.
    Runs with planted pseudowords are then measured against their references. Then every pair of
    runs over 1,000 words gets its rotation null (``rotations`` random rotations, by default the
    preset's), the baseline of Approach 3's headline table; pairs that have it already are kept."""
    planned = plan(preset, with_google_news, progress)
    outcomes = run_all(db_path, planned, executor, bundles, track=track, progress=progress,
                       lock_timeout=lock_timeout, on_outcome=on_outcome, on_status=on_status)
    for index, (run, outcome) in enumerate(zip(planned, outcomes)):
        if run.reference and outcome.result is not None:
            try:  # build again: the corpus is read once per plan, so this only names the planted words
                record_recovery(db_path, run.label, run.reference, run.build(db_path)[0].corpus, lock_timeout)
            except PolyuniError as error:
                record_unavailable(db_path, run.label, run.requested, str(error), lock_timeout)
                outcomes[index] = StudyOutcome(run.label, None, str(error))
    trained = [run.label for run, outcome in zip(planned, outcomes) if run.trained and outcome.result is not None]
    # runs with planted pseudowords are measured against their references, not compared with every run
    compared = [run.label for run, outcome in zip(planned, outcomes) if outcome.result is not None and not run.reference]
    planted = [(run.label, run.reference) for run, outcome in zip(planned, outcomes)
               if outcome.result is not None and run.reference]
    if preset == "controls":
        _controls(db_path, compared, trained, progress, lock_timeout)
    elif preset == "families":  # every pair, for the contrasts of universality_by_factor
        compare(db_path, compared, n_words=CONTROL_WORDS, progress=progress, lock_timeout=lock_timeout)
    rotation_nulls(db_path, rotations=rotations or ROTATIONS[preset], progress=progress, lock_timeout=lock_timeout)
    if preset in FEATURE_PRESETS:
        _features(db_path, preset, compared, planted, progress, lock_timeout)
    return outcomes


def _features(db_path: Path, preset: str, stored: list[str], planted: list[tuple[str, str]], progress: Progress,
              lock_timeout: float) -> None:
    """Feature sets for the preset's runs, two dictionary seeds each and no seed shared between runs
    (the n-th run: seeds 2n + 1 and 2n + 2), then their features matched, each run's first seed:
    blog, every pair; controls, every pair of the first-seed runs and GloVe's rotation.
    A planted run (``planted``: run, reference) whose reference got a feature set gets one too, for
    the features instrument of planted polysemy; it is kept out of the matching, as out of compare."""
    settings, labels = FEATURE_PRESETS[preset]
    labels = [label for label in stored if labels is None or label in labels]
    labels = [label for label in labels if preset != "controls" or not label.endswith(("_s2", "_s3"))]
    fitted = []
    for position, label in enumerate(labels):
        seeds = [FEATURE_SEEDS_PER_RUN * position + offset for offset in range(1, FEATURE_SEEDS_PER_RUN + 1)]
        try:
            compute_features(db_path, [label], settings, seeds, n_jobs=2, progress=progress,
                             lock_timeout=lock_timeout)
            fitted.append((label, seeds[0]))
        except PolyuniError:  # too few trained words for the atoms: the report lists the feature sets there are
            continue
    if len(fitted) >= 2:
        match_features(db_path, fitted, settings, progress=progress, lock_timeout=lock_timeout)
    for label, reference in planted:  # measured against its reference's atoms: fitted from the reference's seed
        if reference in dict(fitted):
            seed = dict(fitted)[reference]
            compute_features(db_path, [label], settings, [seed], n_jobs=2, progress=progress, lock_timeout=lock_timeout)
            record_feature_recovery(db_path, label, reference, settings, seed, lock_timeout=lock_timeout)


def _controls(db_path: Path, labels: list[str], trained: list[str], progress: Progress, lock_timeout: float) -> None:
    """What the controls section needs beyond the runs: filtered variants of the trained runs, the
    rotation check, and every pair compared (pairs compared before with these settings are kept)."""
    for label in trained:
        add_filtered_variant(db_path, label, FILTER_MIN_COUNT, lock_timeout=lock_timeout)
    if {"glove", "glove_rot1"} <= set(labels):
        record_rotation_check(db_path, "glove", "glove_rot1", lock_timeout)
    compare(db_path, labels, n_words=CONTROL_WORDS, progress=progress, lock_timeout=lock_timeout)
