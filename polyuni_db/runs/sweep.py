"""Sweeps: a whole study named in a TOML file (the runs, then every instrument measured on them),
computed on an executor. The presets of `polyuni study` are such files (``polyuni_db/presets``).

    [analysis]                 # what is computed from every run (part of each fingerprint)
    top_k = 5                  # default 10 (at most a corpus's vocabulary)
    pairs = ["squirrel:phone"] # default: the three study pairs

    [[train]]                  # a group of trained runs: every corpus x algorithm x dimension x seed
    corpora = ["corpus_food", "corpus_capital"]
    algorithms = ["word2vec-sg", "fasttext"]  # also word2vec-cbow, ppmi-svd (which has no seed)
    dims = [3, 4]
    seeds = [1, 2]             # default [1]
    epochs = 5                 # every setting of `polyuni ingest train`, its defaults; suffix names a variant

    [pretrained]
    names = ["glove-wiki-gigaword-50"]
    on_request = ["word2vec-google-news-300"]  # only with `polyuni study --with-google-news`

    [[rotations]]              # control runs: a run of the sweep times a random rotation
    of = "glove"
    seeds = [1]
    check = true               # record how far the rotation moved any cosine (rounding only)

    [pseudowords]              # planted polysemy: each trained run of the sweep on the corpus, at
    corpus = "brown"           # these dims and seeds, again on the corpus with pseudowords planted,
    count = 50                 # measured against the run without them (its reference)
    seed = 1                   # which pseudowords are drawn
    dims = [50]
    seeds = [1, 2, 3]

    [filtered]                 # dimension words among trained words counted at least min_count times
    min_count = 5

    [compare]                  # basis-invariant similarity of every pair of the sweep's runs
    words = 1000               # also k, permutations, seed (defaults as `polyuni compare`);
    exclude = ["*_s3"]         # runs (label patterns, default every run) and exclude

    [rotation_nulls]           # the headline table's baseline for every stored run over 1,000 words
    rotations = 100

    [features]                 # feature sets (method, atoms, nonzero, words), then every pair matched
    runs = ["glove", "brown_5?"]
    seeds = [1, 2]             # default: two independent feature sets a run, its seed ceiling; the n-th
                               # run (from 0) gets these + n x 2, so no two runs share a start

Runs with planted pseudowords are measured against their references, never compared with other runs.
Every section and key is checked against the schema below before anything runs: a wrong one is one
line naming it.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Callable, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import remove_stale_work_folders, work_folder
from polyuni_db.runs.executor import DEFAULT_EXECUTOR, Cluster, RunOutcome, SweepStatus, check_scale, run_all
from polyuni_db.runs.findings import DEFAULT_PAIRS, AnalysisSettings
from polyuni_db.sources.base import Phase, Progress, Source, no_phase, no_progress
from polyuni_db.sources.training import ALGORITHMS, DEFAULT_ALGORITHM, MAX_DIM, MAX_SEED
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT

PositiveInt = Annotated[int, Field(ge=1)]
# int or float as written: pydantic would make 0 into 0.0, and 0 is what fingerprints of stored runs hold
Number = int | float
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Dim = Annotated[int, Field(ge=1, le=MAX_DIM)]
Labels = Annotated[list[str], Field(min_length=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AnalysisSection(_Section):
    top_k: PositiveInt = 10
    pairs: list[str] | None = None


class TrainGroup(_Section):
    corpora: Labels
    algorithms: list[Literal[ALGORITHMS]] = Field([DEFAULT_ALGORITHM], min_length=1)
    dims: Annotated[list[Dim], Field(min_length=1)]
    seeds: Annotated[list[Seed], Field(min_length=1)] = [1]
    suffix: str = ""  # names a variant in the label: corpus_bark_3_trained
    pairs: list[str] | None = None  # instead of [analysis] pairs
    lowercase: bool = False
    # Word2Vec and fastText (sources.trained.TrainParams); window and min_count PPMI-SVD's too
    window: PositiveInt = 5
    min_count: PositiveInt = 1
    epochs: PositiveInt = 5
    sample: Annotated[Number, Field(ge=0)] = 1e-3
    negative: Annotated[int, Field(ge=0)] = 5
    hs: Literal[0, 1] = 0
    ns_exponent: Number = 0.75
    alpha: Annotated[Number, Field(gt=0)] = 0.025
    min_alpha: Annotated[Number, Field(ge=0)] = 0.0001
    cbow_mean: Literal[0, 1] = 1
    shrink_windows: bool = True
    max_final_vocab: PositiveInt | None = None
    batch_words: PositiveInt = 10_000
    # fastText's character n-grams (sources.fasttext.SubwordParams)
    min_n: PositiveInt = 3
    max_n: PositiveInt = 6
    bucket: PositiveInt = 2_000_000
    # PPMI-SVD (sources.ppmi_svd.PpmiParams)
    smoothing: Annotated[Number, Field(gt=0, le=1)] = 0.75
    eigenvalue_weight: Annotated[Number, Field(ge=0, le=1)] = 0.5


class PretrainedSection(_Section):
    names: list[str] = []
    on_request: list[str] = []  # added by `polyuni study --with-google-news`; else reported as not requested


class RotationGroup(_Section):
    of: str
    seeds: Annotated[list[Seed], Field(min_length=1)] = [1]
    check: bool = False


class PseudowordGroup(_Section):
    corpus: str
    count: PositiveInt
    seed: Seed = 1
    dims: Annotated[list[Dim], Field(min_length=1)]
    seeds: Annotated[list[Seed], Field(min_length=1)] = [1]  # of the trained runs planted beside


class FilteredSection(_Section):
    min_count: PositiveInt = 5


class _Selection(_Section):
    runs: list[str] | None = None  # label patterns (fnmatch); default: every run of the sweep
    exclude: list[str] = []

    def select(self, labels: list[str]) -> list[str]:
        def matches(label: str, patterns: list[str]) -> bool:
            return any(fnmatch.fnmatchcase(label, pattern) for pattern in patterns)

        return [label for label in labels if (self.runs is None or matches(label, self.runs))
                and not matches(label, self.exclude)]


class CompareSection(_Selection):
    words: Annotated[int, Field(ge=20)] = 10_000
    k: PositiveInt = 10
    permutations: PositiveInt = 100
    seed: Seed = 0


class RotationNullSection(_Section):
    rotations: PositiveInt = 100
    seed: Seed = 0


class FeatureSection(_Selection):
    method: Literal["ica", "omp"] = "ica"
    atoms: PositiveInt | None = None  # default: ica, the run's dimensions (up to 100); omp, 1,000
    nonzero: PositiveInt | None = None  # default: ica, three tenths of the atoms; omp, 5
    words: PositiveInt = 20_000
    # the first run's dictionary seeds; the n-th run's are shifted by n x len(seeds): every run gets
    # its own ceiling, and no two runs on the same words share a start (shared_initialization)
    seeds: Annotated[list[Seed], Field(min_length=1)] = [1, 2]
    match: bool = True  # every pair of the fitted runs matched (each run's first seed)

    def seeds_of(self, position: int) -> list[int]:
        return [seed + position * len(self.seeds) for seed in self.seeds]


GROUPED = ("train", "rotations", "pseudowords")


class SweepFile(_Section):
    analysis: AnalysisSection = AnalysisSection()
    train: list[TrainGroup] = []  # written once ([train]) or as many tables ([[train]]), as the next two
    pretrained: PretrainedSection = PretrainedSection()
    rotations: list[RotationGroup] = []
    pseudowords: list[PseudowordGroup] = []
    filtered: FilteredSection | None = None
    compare: CompareSection | None = None
    rotation_nulls: RotationNullSection | None = None
    features: FeatureSection | None = None


def _one_line(path: Path, error: ValidationError) -> str:
    """The first schema error as one line: where (``[train] dims``), then what is wrong."""
    first = error.errors()[0]
    where = [str(part) for part in first["loc"] if not isinstance(part, int)]
    section, key = (where[0], " ".join(where[1:])) if where else ("", "")
    if first["type"] == "extra_forbidden":
        if len(where) == 1:
            return f"{path}: unknown section [{section}]; use {', '.join(f'[{s}]' for s in SweepFile.model_fields)}"
        known = _section_model(section).model_fields
        return f"{path}: unknown key {where[-1]!r} in [{section}]; use {', '.join(known)}"
    if first["type"] == "missing":
        return f"{path}: [{section}] needs {key}"
    return f"{path}: [{section}] {key}: {first['msg'].lower()}, not {first.get('input')!r}".replace("] :", "]:")


def _section_model(section: str) -> type[BaseModel]:
    annotation = SweepFile.model_fields[section].annotation
    return next(model for model in (annotation, *get_args(annotation)) if hasattr(model, "model_fields"))


def read_sweep_file(path: Path) -> SweepFile:
    """The file checked against the schema; a one-line error for anything wrong in it."""
    try:
        content = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise PolyuniError(f"cannot read sweep file {path}: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise PolyuniError(f"{path} is not valid TOML: {error}") from None
    for section in GROUPED:  # [train] is one group, [[train]] a list of them
        if isinstance(content.get(section), dict):
            content[section] = [content[section]]
    try:
        return SweepFile.model_validate(content)
    except ValidationError as error:
        raise PolyuniError(_one_line(path, error)) from None


@dataclass(frozen=True)
class PlannedRun:
    label: str
    requested: str  # in words, for the report when it cannot be had
    build: Callable[[Path], tuple[Source, AnalysisSettings]]  # given the database; runs in the driver
    trained: bool = False
    reference: str | None = None  # a run with planted pseudowords: the run it is measured against
    after: tuple[str, ...] = ()  # labels that must be stored before this run is built


@dataclass(frozen=True)
class Sweep:
    runs: list[PlannedRun]
    not_requested: list[tuple[str, str]]  # on-request models left out, and why (label, reason)
    file: SweepFile = field(repr=False)


def _pairs(path: Path, texts: list[str], section: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for text in texts:
        parts = text.split(":")
        if len(parts) != 2 or not all(parts):
            raise PolyuniError(f"{path}: [{section}] pairs: {text!r} is not a pair: write \"WORD:WORD\"")
        pairs.append((parts[0], parts[1]))
    return tuple(pairs)


@dataclass(frozen=True)
class _Trained:
    """What a trained run is, before it is built: what [pseudowords] plants beside."""

    corpus: str
    dim: int
    seed: int | None
    suffix: str
    algorithm: str


def _trained_runs(path: Path, group: TrainGroup, top_k: int, pairs: tuple,
                  read: Callable) -> list[tuple[_Trained, PlannedRun]]:
    from polyuni_db.sources.fasttext import FastTextSource, SubwordParams
    from polyuni_db.sources.ppmi_svd import PpmiParams, PpmiSvdSource
    from polyuni_db.sources.trained import TrainedSource, TrainParams
    from polyuni_db.sources.training import default_train_label

    if group.pairs is not None:
        pairs = _pairs(path, group.pairs, "train")
    word2vec = {name: getattr(group, name) for name in TrainParams.__dataclass_fields__ if name not in ("sg", "workers")}
    try:
        params = {"word2vec-sg": TrainParams(sg=1, **word2vec), "word2vec-cbow": TrainParams(sg=0, **word2vec),
                  "fasttext": TrainParams(sg=1, **word2vec)}
        subwords = SubwordParams(group.min_n, group.max_n, group.bucket)
        ppmi = PpmiParams(group.window, group.min_count, group.smoothing, group.eigenvalue_weight)
    except PolyuniError as error:
        raise PolyuniError(f"{path}: [train] {error}") from None
    runs = []
    for corpus in group.corpora:
        for algorithm in group.algorithms:
            for dim in group.dims:
                # PPMI-SVD is deterministic: one run whatever the seeds
                for seed in [None] if algorithm == "ppmi-svd" else group.seeds:
                    def build(db_path, corpus=corpus, algorithm=algorithm, dim=dim, seed=seed):
                        sentences = read(corpus, group.lowercase)
                        if algorithm == "ppmi-svd":
                            source = PpmiSvdSource(sentences, dim, ppmi)
                        elif algorithm == "fasttext":
                            source = FastTextSource(sentences, dim, seed, params[algorithm], subwords)
                        else:
                            source = TrainedSource(sentences, dim, seed, params[algorithm])
                        # the minimal corpora have fewer words than top_k: rank all of them
                        vocabulary = len({token for sentence in sentences.sentences for token in sentence})
                        return source, AnalysisSettings(top_k=min(top_k, vocabulary), pairs=pairs)

                    seed_text = "" if seed is None else f", seed {seed}"
                    # a corpus file is named by its stem, as load_corpus names it
                    what = _Trained(Path(corpus).stem, dim, seed, group.suffix, algorithm)
                    runs.append((what, PlannedRun(
                        default_train_label(what.corpus, dim, seed, group.suffix, algorithm),
                        f"{algorithm} on {corpus}, {dim} dimensions{seed_text}{group.suffix and ', ' + group.suffix}",
                        build, trained=True)))
    return runs


def _planted_runs(path: Path, group: PseudowordGroup, trained: list[tuple[_Trained, PlannedRun]]) -> list[PlannedRun]:
    """Each trained run of the sweep on the group's corpus, dimensions and seeds, again with the
    pseudowords planted in its corpus, measured against it (its reference)."""
    from polyuni_db.sources.pseudowords import plant_pseudowords, planted_name
    from polyuni_db.sources.training import default_train_label

    planted_in: dict[int, object] = {}  # by the corpus object, which the sweep's reader keeps: planted once

    def planted(corpus):
        if id(corpus) not in planted_in:
            planted_in[id(corpus)] = plant_pseudowords(corpus, group.count, group.seed)
        return planted_in[id(corpus)]

    corpus = Path(group.corpus).stem
    references = [(what, run) for what, run in trained
                  if what.corpus == corpus and what.dim in group.dims and what.seed in group.seeds]
    if not references:
        raise PolyuniError(f"{path}: [pseudowords] plants in {group.corpus} beside the trained runs on it with "
                           f"dims {group.dims} and seeds {group.seeds}, and no [train] group has one")
    runs = []
    for what, reference in references:
        def build(db_path, reference=reference):
            source, settings = reference.build(db_path)
            return dataclasses.replace(source, corpus=planted(source.corpus)), settings

        runs.append(PlannedRun(
            default_train_label(planted_name(corpus, group.count, group.seed), what.dim, what.seed, what.suffix,
                                what.algorithm),
            f"{reference.requested} with {group.count} pseudowords (seed {group.seed})", build, trained=True,
            reference=reference.label))
    return runs


def _size(content: SweepFile, with_on_request: bool) -> int:
    """How many runs the file names (not counting planted ones), before any is built."""
    trained = sum(len(group.corpora) * len(group.algorithms) * len(group.dims) * len(group.seeds)
                  for group in content.train)
    pretrained = len(content.pretrained.names) + (len(content.pretrained.on_request) if with_on_request else 0)
    return trained + pretrained + sum(len(group.seeds) for group in content.rotations)


def load_sweep(path: Path, with_on_request: bool = False, progress: Progress = no_progress,
               executor: str = DEFAULT_EXECUTOR, yes: bool = False) -> Sweep:
    """The sweep's runs from its TOML file; a one-line error for anything wrong in it, or for a grid
    or ``executor`` too large without ``yes`` (``executor.check_scale``, before any run is built)."""
    from polyuni_db.sources.control import RotationSource
    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.pretrained import PretrainedSource

    content = read_sweep_file(path)
    check_scale(_size(content, with_on_request), executor, yes)
    # each corpus is read once per sweep, when the first run on it is built
    read = cache(lambda name, lowercase: load_corpus(name, lowercase=lowercase, progress=progress))
    analysis = content.analysis
    pairs = _pairs(path, analysis.pairs, "analysis") if analysis.pairs is not None else DEFAULT_PAIRS
    settings = AnalysisSettings(top_k=analysis.top_k, pairs=pairs)
    trained = [found for group in content.train for found in _trained_runs(path, group, analysis.top_k, pairs, read)]
    runs = [run for _, run in trained]
    not_requested = []
    names = content.pretrained.names + (content.pretrained.on_request if with_on_request else [])
    for name in names:
        source = PretrainedSource(name)
        runs.append(PlannedRun(source.default_label(), f"pretrained {name}",
                               lambda db_path, source=source: (source, settings)))
    if not with_on_request:
        not_requested = [(PretrainedSource(name).default_label(), "not requested: --with-google-news adds it "
                          "(internet, 1.6 GB)") for name in content.pretrained.on_request]
    for group in content.rotations:
        for seed in group.seeds:
            runs.append(PlannedRun(
                f"{group.of}_rot{seed}", f"rotation of {group.of} (seed {seed})",
                lambda db_path, of=group.of, seed=seed: (RotationSource(db_path, of, seed), settings),
                after=(group.of,)))
    runs += [run for group in content.pseudowords for run in _planted_runs(path, group, trained)]
    if not runs:
        raise PolyuniError(f"{path} names no runs: give [train] corpora and dims, or [pretrained] names")
    labels = [run.label for run in runs]
    if len(set(labels)) != len(labels):
        raise PolyuniError(f"{path}: two runs would share the label {next(l for l in labels if labels.count(l) > 1)!r}")
    return Sweep(runs, not_requested, content)


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
    with_on_request: bool = False,
    rotations: int | None = None,
    yes: bool = False,
    phase: Phase = no_phase,
) -> tuple[list[RunOutcome], int | None]:
    """Every run of the sweep (stored or bundled ones skipped; one that fails is recorded and the
    others go on), then its instruments in the order each needs the last: planted recovery,
    filtered variants and the rotation check, comparisons, rotation nulls (``rotations`` instead of
    the file's count), feature sets and their matching. Returns (outcomes in the file's order,
    similarity rows stored by [compare] or None without it)."""
    from polyuni_db.derived.instruments import instruments_on, run_instruments
    from polyuni_db.derived.verdict import record_verdict

    sweep = load_sweep(path, with_on_request, progress, executor, yes)
    with ExitStack() as stack:  # one cluster and one bundle folder for the runs and the instruments
        cluster = stack.enter_context(Cluster(executor))
        if bundles is None:
            remove_stale_work_folders(Path(db_path))
            bundles = stack.enter_context(work_folder(Path(db_path), "bundles"))
        with phase("runs"):
            outcomes = run_all(db_path, sweep.runs, executor, bundles, track=track, progress=progress,
                               lock_timeout=lock_timeout, on_outcome=on_outcome, on_status=on_status, yes=yes,
                               cluster=cluster)
        instruments = stack.enter_context(instruments_on(db_path, cluster=cluster, bundles=Path(bundles),
                                                         progress=progress, lock_timeout=lock_timeout))
        similarity = run_instruments(instruments, sweep, outcomes, rotations, phase)
    record_verdict(db_path, lock_timeout)  # the verdict's intervals, over what the database now holds
    return outcomes, similarity
