"""A sweep's instruments, measured on its stored runs in the order each needs the last: planted
recovery, filtered variants and the rotation check, comparisons, rotation nulls, feature sets and
their matching. What each computes lives in ``compare``, ``features`` and ``planted``."""
from __future__ import annotations

from pathlib import Path

from polyuni_db.errors import PolyuniError
from polyuni_db.executor import RunOutcome
from polyuni_db.sources.base import Phase, Progress, no_phase, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.write import record_unavailable


def run_instruments(db_path: Path, sweep, outcomes: list[RunOutcome], executor: str, rotations: int | None = None,
                    progress: Progress = no_progress, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                    phase: Phase = no_phase) -> int | None:
    """Every instrument the sweep file asks for, on the runs that were had (``outcomes``, in the
    sweep's order; a planted run whose recovery cannot be measured is recorded and marked failed
    there). Returns the similarity rows [compare] stored, or None without [compare]."""
    from polyuni_db.compare import add_filtered_variant, compare, record_rotation_check, rotation_nulls
    from polyuni_db.planted import record_recovery

    file = sweep.file
    had = [(run, index) for index, (run, outcome) in enumerate(zip(sweep.runs, outcomes)) if outcome.result is not None]
    if any(run.reference for run, _ in had):
        with phase("planted"):
            for run, index in had:
                if run.reference:
                    try:  # build again: the corpus is read once per sweep, so this only names the planted words
                        record_recovery(db_path, run.label, run.reference, run.build(db_path)[0].corpus, lock_timeout)
                    except PolyuniError as error:
                        record_unavailable(db_path, run.label, run.requested, str(error), lock_timeout)
                        outcomes[index] = RunOutcome(run.label, None, str(error))
    stored = [run for run, index in had if outcomes[index].result is not None]
    # runs with planted pseudowords are measured against their references, not compared with every run
    compared = [run.label for run in stored if not run.reference]
    planted = [(run.label, run.reference) for run in stored if run.reference]
    if file.filtered is not None:
        with phase("filtered variants"):
            for run in stored:
                if run.trained:
                    add_filtered_variant(db_path, run.label, file.filtered.min_count, lock_timeout=lock_timeout)
    for group in file.rotations:
        for seed in group.seeds if group.check else ():
            if {group.of, f"{group.of}_rot{seed}"} <= set(compared):
                record_rotation_check(db_path, group.of, f"{group.of}_rot{seed}", lock_timeout)
    similarity = None
    if file.compare is not None:
        settings = file.compare
        labels = settings.select(compared)
        with phase("comparisons"):
            similarity = 0 if len(labels) < 2 else compare(
                db_path, labels, n_words=settings.words, k=settings.k, permutations=settings.permutations,
                seed=settings.seed, progress=progress, lock_timeout=lock_timeout)
    if file.rotation_nulls is not None:
        with phase("baselines"):
            rotation_nulls(db_path, rotations=rotations or file.rotation_nulls.rotations,
                           seed=file.rotation_nulls.seed, progress=progress, lock_timeout=lock_timeout)
    if file.features is not None:
        with phase("feature sets"):
            _features(db_path, file.features, compared, planted, progress, lock_timeout)
    return similarity


def _features(db_path: Path, section, stored: list[str], planted: list[tuple[str, str]], progress: Progress,
              lock_timeout: float) -> None:
    """Feature sets of the selected runs, two independent seeds each (the run's seed ceiling) and no
    seed shared between runs (``section.seeds_of``), then every pair of them matched, each run's
    first seed. A planted run (``planted``: run, reference) whose reference got a feature set gets
    one too, from the reference's seed, for the features instrument of planted polysemy; it is kept
    out of the matching, as out of compare. A run with too few trained words for the atoms gets
    none: the report lists the feature sets there are."""
    from polyuni_db.features import FeatureSettings, compute_features, match_features
    from polyuni_db.planted import record_feature_recovery

    settings = FeatureSettings(section.atoms, section.nonzero, section.words, section.method)
    fitted = {}
    for position, label in enumerate(section.select(stored)):
        seeds = section.seeds_of(position)
        try:
            compute_features(db_path, [label], settings, seeds, n_jobs=2, progress=progress, lock_timeout=lock_timeout)
            fitted[label] = seeds[0]
        except PolyuniError:
            continue
    if section.match and len(fitted) >= 2:
        match_features(db_path, list(fitted.items()), settings, progress=progress, lock_timeout=lock_timeout)
    for label, reference in planted:
        if reference in fitted:
            seed = fitted[reference]
            compute_features(db_path, [label], settings, [seed], n_jobs=2, progress=progress, lock_timeout=lock_timeout)
            record_feature_recovery(db_path, label, reference, settings, seed, lock_timeout=lock_timeout)
