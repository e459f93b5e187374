"""Sweeps: a grid of runs named in a TOML file, computed on an executor, then the follow-ups.

    [analysis]                 # what is computed from every run (part of each fingerprint)
    top_k = 5                  # default 10
    pairs = ["squirrel:phone"] # default: the three study pairs

    [train]                    # Word2Vec: every corpus x algorithm x dimension x seed
    corpora = ["corpus_food", "corpus_capital"]
    algorithms = ["skipgram"]  # skipgram and/or cbow (default: skipgram)
    dims = [3, 4]
    seeds = [1, 2]             # default: [1]
    window = 5                 # also min_count, epochs, lowercase: defaults as `polyuni ingest train`

    [pretrained]
    names = ["glove-wiki-gigaword-50"]

    [compare]                  # optional: basis-invariant similarity of every pair of the sweep's runs
    words = 1000               # also k, permutations, seed: defaults as `polyuni compare`

Labels are those of `polyuni ingest` (``corpus_4_3``, ``corpus_4_3_s2``), with ``_cbow`` for CBOW.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

from polyuni_db.errors import PolyuniError
from polyuni_db.executor import DEFAULT_EXECUTOR, RunOutcome, SweepStatus, check_scale, run_all
from polyuni_db.findings import DEFAULT_PAIRS, AnalysisSettings
from polyuni_db.sources.base import Progress, no_progress
from polyuni_db.sources.training import MAX_DIM, MAX_SEED
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT

ALGORITHMS = {"skipgram": 1, "cbow": 0}
SECTIONS = {
    "analysis": {"top_k": int, "pairs": list},
    "train": {"corpora": list, "algorithms": list, "dims": list, "seeds": list, "window": int,
              "min_count": int, "epochs": int, "lowercase": bool},
    "pretrained": {"names": list},
    "compare": {"words": int, "k": int, "permutations": int, "seed": int},
}
# What each list holds, and the range of each number (lists: of every element), checked before any run.
ELEMENTS = {"pairs": str, "corpora": str, "algorithms": str, "dims": int, "seeds": int, "names": str}
RANGES = {"top_k": (1, None), "dims": (1, MAX_DIM), "seeds": (0, MAX_SEED), "window": (1, None),
          "min_count": (1, None), "epochs": (1, None)}


def _is(value, expected: type) -> bool:
    return isinstance(value, expected) and not (expected is int and isinstance(value, bool))


@dataclass(frozen=True)
class SweepRun:
    """One run of the grid, as ``study.PlannedRun`` describes one (the executor takes either)."""

    label: str
    requested: str
    build: Callable
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sweep:
    runs: list[SweepRun]
    compare: dict | None  # keyword arguments of compare(), when asked for


def _checked(path: Path, content: dict) -> dict:
    """Every section and key known and of the right type, else one line naming it."""
    for section, values in content.items():
        if section not in SECTIONS or not isinstance(values, dict):
            raise PolyuniError(f"{path}: unknown section [{section}]; use {', '.join(f'[{s}]' for s in SECTIONS)}")
        for key, value in values.items():
            expected = SECTIONS[section].get(key)
            if expected is None:
                raise PolyuniError(f"{path}: unknown key {key!r} in [{section}]; use {', '.join(SECTIONS[section])}")
            if not _is(value, expected):
                raise PolyuniError(f"{path}: [{section}] {key} must be a {expected.__name__}, not {value!r}")
            for element in value if expected is list else [value]:
                if expected is list and not _is(element, ELEMENTS[key]):
                    raise PolyuniError(f"{path}: [{section}] {key} must be a list of {ELEMENTS[key].__name__}s, "
                                       f"not {value!r}")
                low, high = RANGES.get(key, (None, None))
                if (low is not None and element < low) or (high is not None and element > high):
                    bounds = f"from {low:,} to {high:,}" if high is not None else f"at least {low:,}"
                    raise PolyuniError(f"{path}: [{section}] {key} must be {bounds}, not {element!r}")
    return content


def _pairs(path: Path, texts: list) -> tuple[tuple[str, str], ...]:
    pairs = []
    for text in texts:
        parts = str(text).split(":")
        if len(parts) != 2 or not all(parts):
            raise PolyuniError(f"{path}: [analysis] pairs: {text!r} is not a pair: write \"WORD:WORD\"")
        pairs.append((parts[0], parts[1]))
    return tuple(pairs)


def load_sweep(path: Path, executor: str = DEFAULT_EXECUTOR, yes: bool = False) -> Sweep:
    """The sweep's runs from its TOML file; a one-line error for anything wrong in it, or for a grid
    or ``executor`` too large without ``yes`` (before the runs are built)."""
    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.pretrained import PretrainedSource
    from polyuni_db.sources.trained import TrainedSource, TrainParams
    from polyuni_db.sources.training import default_train_label

    try:
        content = _checked(path, tomllib.loads(Path(path).read_text(encoding="utf-8")))
    except OSError as error:
        raise PolyuniError(f"cannot read sweep file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise PolyuniError(f"{path} is not valid TOML: {error}") from None
    analysis = content.get("analysis", {})
    # without top_k, a model with fewer words ranks them all, as `polyuni ingest` does without --top-k
    settings = AnalysisSettings(top_k=analysis.get("top_k", 10), all_if_fewer="top_k" not in analysis,
                                pairs=_pairs(path, analysis["pairs"]) if "pairs" in analysis else DEFAULT_PAIRS)
    runs = []
    train = content.get("train")
    grid = [len(train.get(key, [None])) for key in ("corpora", "algorithms", "dims", "seeds")] if train else [0]
    check_scale(math.prod(grid) + len(content.get("pretrained", {}).get("names", [])), executor, yes)
    if train:
        lowercase = train.get("lowercase", False)
        read = cache(lambda name: load_corpus(name, lowercase=lowercase))
        unknown = [name for name in train.get("algorithms", []) if name not in ALGORITHMS]
        if unknown:
            raise PolyuniError(f"{path}: unknown algorithm {unknown[0]!r}; use {', '.join(ALGORITHMS)}")
        for field in ("corpora", "dims"):
            if not train.get(field):
                raise PolyuniError(f"{path}: [train] needs {field}")
        for corpus in train["corpora"]:
            for algorithm in train.get("algorithms", ["skipgram"]):
                params = TrainParams(sg=ALGORITHMS[algorithm], window=train.get("window", 5),
                                     min_count=train.get("min_count", 1), epochs=train.get("epochs", 5))
                for dim in train["dims"]:
                    for seed in train.get("seeds", [1]):
                        def build(db_path, corpus=corpus, dim=dim, seed=seed, params=params):
                            return TrainedSource(read(corpus), dim, seed, params), settings

                        # a corpus file is named by its stem, as load_corpus names it
                        label = default_train_label(Path(corpus).stem, dim, seed)
                        label += "_cbow" if algorithm == "cbow" else ""
                        runs.append(SweepRun(label, f"word2vec ({algorithm}) on {corpus}, {dim} dimensions, "
                                             f"seed {seed}", build))
    for name in content.get("pretrained", {}).get("names", []):
        source = PretrainedSource(name)
        runs.append(SweepRun(source.default_label(), f"pretrained {name}",
                             lambda db_path, source=source: (source, settings)))
    if not runs:
        raise PolyuniError(f"{path} names no runs: give [train] corpora and dims, or [pretrained] names")
    labels = [run.label for run in runs]
    if len(set(labels)) != len(labels):
        raise PolyuniError(f"{path}: two runs would share the label {next(l for l in labels if labels.count(l) > 1)!r}")
    return Sweep(runs, content.get("compare"))


def run_sweep(
    db_path: Path,
    path: Path,
    executor: str = DEFAULT_EXECUTOR,
    bundles: Path | None = None,
    track: bool = True,
    progress: Progress = no_progress,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    on_outcome: Callable[[RunOutcome], None] = lambda outcome: None,
    on_status: Callable[[SweepStatus], None] = lambda status: None,
    yes: bool = False,
) -> tuple[list[RunOutcome], int | None]:
    """Every run of the sweep (stored or bundled ones skipped), then its comparisons when asked for:
    (outcomes in the file's order, similarity scores stored or None)."""
    sweep = load_sweep(path, executor, yes)
    outcomes = run_all(db_path, sweep.runs, executor, bundles, track=track, progress=progress,
                       lock_timeout=lock_timeout, on_outcome=on_outcome, on_status=on_status, yes=yes)
    if sweep.compare is None:
        return outcomes, None
    from polyuni_db.compare import DEFAULT_PERMUTATIONS, DEFAULT_WORDS, compare

    stored = [outcome.label for outcome in outcomes if outcome.result is not None]
    if len(stored) < 2:
        return outcomes, 0
    options = {"n_words": sweep.compare.get("words", DEFAULT_WORDS), "k": sweep.compare.get("k", 10),
               "permutations": sweep.compare.get("permutations", DEFAULT_PERMUTATIONS),
               "seed": sweep.compare.get("seed", 0)}
    return outcomes, compare(db_path, stored, progress=progress, lock_timeout=lock_timeout, **options)
