"""polyuni: the command line, a thin shell over the library."""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shlex
import sys
import time
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from polyuni_db.errors import PolyuniError, quiet_numerics
from polyuni_db.runs.executor import DEFAULT_EXECUTOR, EXECUTOR_HELP
from polyuni_db.runs.findings import DEFAULT_PAIRS
from polyuni_db.sources.files import FORMATS
from polyuni_db.sources.trained import TrainParams
from polyuni_db.sources.training import ALGORITHMS
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, default_db_path

DEFAULT_REPORT_DIR = Path("reports/out")
FORMATS_OUT = ("table", "csv", "json")
SOURCES = ("pretrained", "file", "train", "control")
SQL_TABLE_LIMIT = 1000  # rows a table shows unless --limit says otherwise: a screenful or two, aligned

EPILOG = """examples:
  polyuni ingest pretrained glove-wiki-gigaword-50
  polyuni ingest train --corpus brown --dims 40 50 60 --seeds 1
  polyuni ingest train --corpus lee_background --dims 50 --algorithm ppmi-svd
  polyuni ingest train --corpus brown --dims 50 --pseudowords 30 --pseudoword-seed 1
  polyuni ingest file vectors.bin --format word2vec-bin --label mine
  polyuni ingest control rotate --of glove --seed 1
  polyuni compare glove glove_rot1 brown_50
  polyuni features glove --seeds 1 2
  polyuni match-features glove@1 glove_rot1@3
  polyuni runs
  polyuni mlflow-sync
  polyuni study --list
  polyuni study --preset quick
  polyuni study --preset ./my_study.toml
  polyuni sweep scripts/sweeps/small.toml --executor local:2 --bundles bundles/
  polyuni import bundles/
  polyuni report --out reports/out
  polyuni sql "SELECT dimension, word FROM dimension_words JOIN runs USING (run_id)
               WHERE label = 'glove' AND pole = 'max' AND rank = 1 ORDER BY dimension"
"""


class Bars:
    """Progress callback drawing one tqdm bar per task, on a terminal only."""

    def __init__(self) -> None:
        self.bars: dict = {}

    def __call__(self, completed: int, total: int, description: str) -> None:
        from tqdm import tqdm

        bar = self.bars.get(description)
        if bar is None:
            bar = self.bars[description] = tqdm(total=total, desc=description, leave=False, disable=None)
        bar.n = completed
        bar.refresh()
        if completed >= total:
            bar.close()


class SweepBar:
    """Progress of many runs: one bar of runs settled, with how many run and failed, on a terminal."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, status) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=status.total, desc="runs", unit="run", disable=None)
        self.bar.n = status.done + status.failed
        self.bar.set_postfix(running=status.running, queued=status.queued, failed=status.failed)
        if self.bar.n >= status.total:
            self.bar.close()


def _add_executor_options(parser: argparse.ArgumentParser, default: str | None = DEFAULT_EXECUTOR,
                          single: str = "") -> None:
    parser.add_argument("--executor", default=default, metavar="local[:N]|tcp://HOST:PORT|inline",
                        help=f"where runs are computed: {EXECUTOR_HELP}{single}")
    parser.add_argument("--bundles", type=Path, metavar="DIR",
                        help="keep every run's bundle (Parquet rows, metadata, vectors) in DIR, for `polyuni "
                        "import` elsewhere and for reruns; on a cluster, a folder every worker can write "
                        "(default: a temporary folder beside the database, removed at the end)")
    parser.add_argument("--yes", action="store_true",
                        help="go ahead with more than 10,000 runs, or with local:N above 4 workers per core")


def _add_format_option(parser: argparse.ArgumentParser, others: str) -> None:
    parser.add_argument("--format", choices=FORMATS_OUT, default="table",
                        help=f"table: columns sized to their content, floats at 4 significant digits; {others} "
                        "(default: table)")


def _pair(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a pair: write WORD:WORD")
    return parts[0], parts[1]


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
    return value


def _non_negative(text: str) -> int:
    return _whole_number(text, 0)


def _seed(text: str) -> int:
    from polyuni_db.sources.training import MAX_SEED

    value = _non_negative(text)
    if value > MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SEED}, not {value}")
    return value


def _feature_set_name(text: str) -> tuple[str, int]:
    """LABEL@SEED: the feature set of that dictionary seed; a bare LABEL is seed 1."""
    label, at, seed = text.rpartition("@")
    if not at:
        return _label(text), 1
    try:
        return _label(label), _seed(seed)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not LABEL@SEED: {error}") from None


def _label(text: str) -> str:
    from polyuni_db.runs.labels import label_problem

    if problem := label_problem(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a label: {problem}")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, 0 or more, not {text}")
    return value


def _positive(text: str) -> int:
    return _whole_number(text, 1)


def _add_ingest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=_positive, default=None, metavar="K",
                        help="dimension words and neighbours to store per query (default: 10, or every word "
                        "of a model with fewer; a K larger than the model is an error)")
    parser.add_argument("--pairs", type=_pair, nargs="+", default=list(DEFAULT_PAIRS), metavar="A:B",
                        help="word pairs for difference vectors (default: "
                        + " ".join(f"{a}:{b}" for a, b in DEFAULT_PAIRS) + ")")
    parser.add_argument("--superposition-words", type=_positive, default=None, metavar="N",
                        help="also store word_superposition for a model of more than 1,000 words, over its N "
                        "most frequent words (default: only models of at most 1,000 words, over all of them)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log the run to MLflow")
    _add_experiment_option(parser)
    parser.add_argument("--force", action="store_true",
                        help="recompute and replace a run that is already stored")


def _add_experiment_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiment", metavar="NAME", type=_label,
                        help="MLflow experiment to log to, unless MLFLOW_EXPERIMENT_NAME says (default: the one "
                        "the database logged to last, else one named after the database file)")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _add_word2vec_options(parser: argparse.ArgumentParser) -> None:
    """Every Word2Vec setting that decides the vectors, fastText's too; defaults are gensim's (the study
    used them). Left unset (None) unless given, so that one given to PPMI-SVD is refused, not ignored."""
    defaults = TrainParams()
    parser.add_argument("--sg", type=int, default=None, choices=(0, 1),
                        help="1 skip-gram (default), 0 CBOW; with no --algorithm, --sg 0 is word2vec-cbow")
    parser.add_argument("--window", type=_positive, default=defaults.window,
                        help=f"largest distance between a word and its context (default: {defaults.window})")
    parser.add_argument("--min-count", type=_positive, default=defaults.min_count,
                        help=f"ignore words seen fewer times (default: {defaults.min_count})")
    parser.add_argument("--epochs", type=_positive, default=None,
                        help=f"passes over the corpus (default: {defaults.epochs})")
    parser.add_argument("--workers", type=_positive, default=None,
                        help="training threads; more than 1 makes runs unrepeatable (default: 1)")
    parser.add_argument("--sample", type=_fraction, default=None,
                        help="down-sampling threshold for frequent words; 0 turns it off. On a tiny corpus "
                        f"the default drops nearly every token and nothing trains (default: {defaults.sample:g})")
    parser.add_argument("--negative", type=int, default=None, metavar="N",
                        help=f"negative samples per pair; 0 for none (default: {defaults.negative})")
    parser.add_argument("--hs", type=int, default=None, choices=(0, 1),
                        help=f"1 hierarchical softmax (default: {defaults.hs})")
    parser.add_argument("--ns-exponent", type=float, default=None,
                        help=f"exponent of the negative-sampling distribution (default: {defaults.ns_exponent})")
    parser.add_argument("--alpha", type=float, default=None,
                        help=f"initial learning rate (default: {defaults.alpha})")
    parser.add_argument("--min-alpha", type=_fraction, default=None,
                        help=f"final learning rate, reached linearly (default: {defaults.min_alpha})")
    parser.add_argument("--cbow-mean", type=int, default=None, choices=(0, 1),
                        help=f"CBOW: 1 averages the context vectors, 0 sums them (default: {defaults.cbow_mean})")
    parser.add_argument("--no-shrink-windows", dest="shrink_windows", action="store_false", default=None,
                        help="always use the full window (default: each window's size drawn from 1..window)")
    parser.add_argument("--max-final-vocab", type=_positive, default=None, metavar="N",
                        help="keep at most N words, raising min-count as needed (default: no limit)")
    parser.add_argument("--batch-words", type=_positive, default=None, metavar="N",
                        help=f"words per training job; the learning rate steps down per job "
                        f"(default: {defaults.batch_words})")


def _add_family_options(parser: argparse.ArgumentParser) -> None:
    """The settings of fastText's n-grams and of PPMI-SVD."""
    parser.add_argument("--min-n", type=_positive, default=None, help="fastText: shortest character n-gram (default: 3)")
    parser.add_argument("--max-n", type=_positive, default=None, help="fastText: longest character n-gram (default: 6)")
    parser.add_argument("--bucket", type=_positive, default=None,
                        help="fastText: hash buckets for n-grams (default: 2000000)")
    parser.add_argument("--smoothing", type=float, default=None,
                        help="ppmi-svd: context-distribution smoothing exponent (default: 0.75)")
    parser.add_argument("--eigenvalue-weight", type=float, default=None, metavar="P",
                        help="ppmi-svd: vectors are U times singular values to the power P (default: 0.5)")


def _add_pseudoword_options(parser: argparse.ArgumentParser) -> None:
    from polyuni_db.sources.pseudowords import DEFAULT_COUNT_RANGE

    planted = parser.add_argument_group(
        "planted polysemy", "replace both words of each pair by one token a+b before training (corpus named "
        "{corpus}_pw{N}s{SEED}), ingest the reference run on the original corpus, and measure what each "
        "instrument recovers (views pseudoword_recovery, pseudoword_summary)")
    planted.add_argument("--pseudowords", type=_positive, metavar="N",
                         help="plant N pseudowords from disjoint random pairs of words (default: none)")
    planted.add_argument("--pseudoword-seed", type=int, default=1, metavar="S",
                         help="seed of the random pairs (default: 1)")
    planted.add_argument("--pseudoword-counts", type=_positive, nargs=2, default=list(DEFAULT_COUNT_RANGE),
                         metavar=("MIN", "MAX"), help="pair only alphabetic words counted MIN to MAX times "
                         f"(default: {DEFAULT_COUNT_RANGE[0]} {DEFAULT_COUNT_RANGE[1]})")
    planted.add_argument("--merge", type=_pair, nargs="+", default=[], metavar="A:B",
                         help="also merge these pairs (words the user knows the senses of; default: none)")
    planted.add_argument("--reference", metavar="LABEL",
                         help="a stored run to measure against (default: the same configuration on the "
                         "original corpus, ingested if missing)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyuni",
        description="Findings database for polysemanticity and its universality in word embeddings.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, default=None, metavar="PATH",
                        help="DuckDB file (default: $POLYUNI_DB or ./polyuni.duckdb)")
    parser.add_argument("--lock-timeout", type=_seconds, default=DEFAULT_LOCK_TIMEOUT, metavar="S",
                        help="seconds to wait while another process writes the database (default: 60)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("init", help="create the database, or upgrade its schema")

    ingest = commands.add_parser("ingest", help="compute and store the findings of a model")
    sources = ingest.add_subparsers(dest="source", required=True, metavar="SOURCE")

    pretrained = sources.add_parser("pretrained", help="a gensim-data model, e.g. glove-wiki-gigaword-50")
    pretrained.add_argument("name", help="gensim-data name, e.g. glove-wiki-gigaword-50, word2vec-google-news-300, "
                            "minilm-token-embeddings")
    pretrained.add_argument("--label", type=_label, help="run label (default: glove, google_news, else the name)")
    pretrained.add_argument("--limit", type=_positive, metavar="N", help="read only the first N words")
    _add_ingest_options(pretrained)

    file_ = sources.add_parser("file", help="a local vectors file")
    file_.add_argument("path", type=Path, help="the vectors file (.gz too)")
    file_.add_argument("--format", required=True, choices=FORMATS,
                       help="gensim: a KeyedVectors.save() file, memory-mapped (it is a pickle: load only your own)")
    file_.add_argument("--label", type=_label, required=True, help="run label")
    file_.add_argument("--limit", type=_positive, metavar="N", help="read only the first N words")
    _add_ingest_options(file_)

    train = sources.add_parser("train", help="Word2Vec, fastText or PPMI-SVD trained here, a run per dimension and seed")
    train.add_argument("--corpus", required=True, metavar="NAME|PATH",
                       help="a corpus name (corpus_4, brown, lee_background, ...) or a text file, "
                       "one sentence per line")
    train.add_argument("--dims", type=_positive, nargs="+", required=True, metavar="D",
                       help="vector sizes; one run per dimension and seed")
    train.add_argument("--algorithm", choices=ALGORITHMS, default=None,
                       help="word2vec-sg (default; word2vec-cbow with --sg 0), word2vec-cbow, fasttext, "
                       "or ppmi-svd (PPMI + truncated SVD, Levy, Goldberg and Dagan 2015)")
    train.add_argument("--seeds", type=_seed, nargs="+", default=None, metavar="S",
                       help="seeds of Word2Vec and fastText, 0 to 2147483647; one run per dimension and seed "
                       "(default: 1; ppmi-svd has none)")
    _add_word2vec_options(train)
    _add_family_options(train)
    train.add_argument("--lowercase", action="store_true", help="lowercase the corpus first")
    train.add_argument("--label", type=_label, metavar="TEMPLATE",
                       help="label template with {corpus}, {algorithm}, {dim} and {seed} (default: "
                       "{corpus}_{dim}, {corpus}_{algorithm}_{dim} for algorithms other than word2vec-sg, "
                       "with _s{seed} for seeds other than 1)")
    _add_pseudoword_options(train)
    _add_ingest_options(train)
    _add_executor_options(train, default=None, single="; default: inline for a single run, else local")

    control = sources.add_parser("control", help="controls made from a stored run")
    controls = control.add_subparsers(dest="control", required=True, metavar="CONTROL")
    rotate = controls.add_parser("rotate", help="a new run: the stored run's vectors times a random orthogonal matrix")
    rotate.add_argument("--of", required=True, metavar="LABEL", help="the stored run to rotate")
    rotate.add_argument("--seed", type=_seed, default=1, help="seed of the rotation (default: 1)")
    rotate.add_argument("--label", type=_label, help="run label (default: {LABEL}_rot{SEED})")
    _add_ingest_options(rotate)
    filter_ = controls.add_parser("filter", help="add dimension words among trained words counted at least "
                                  "--min-count times, beside the run's own")
    filter_.add_argument("--of", required=True, nargs="+", metavar="LABEL", help="stored trained runs")
    filter_.add_argument("--min-count", type=_positive, default=5, metavar="M",
                         help="keep trained words counted at least M times (default: 5)")

    runs = commands.add_parser("runs", help="list the stored runs")
    runs.add_argument("--like", metavar="PATTERN",
                      help="only labels matching this SQL LIKE pattern: %% any text, _ one character")
    runs.add_argument("--source", choices=SOURCES, help="only runs from this source")
    runs.add_argument("--corpus", metavar="NAME", help="only runs trained on this corpus")
    _add_format_option(runs, "csv and json give every digit")

    compare = commands.add_parser(
        "compare", help="basis-invariant similarity of every pair of the given runs",
        description="Score every pair of the given runs over their most frequent shared words: linear CKA, "
        "mutual k-NN and (equal dimensions) the top-5 dimension words in common after orthogonal Procrustes "
        "alignment, each against shuffled word correspondences; and the axis-aligned overlap against random "
        "rotations. Stored in the table similarity (view similarity_scores, with labels); pairs compared "
        "before with the same settings are kept.")
    compare.add_argument("labels", nargs="+", metavar="LABEL", help="stored runs to compare pairwise")
    compare.add_argument("--words", type=_positive, default=10_000, metavar="N",
                         help="compare over the N most frequent shared words (default: 10000)")
    compare.add_argument("--k", type=_positive, default=10, help="neighbours for mutual k-NN (default: 10)")
    compare.add_argument("--permutations", type=_positive, default=100, metavar="R",
                         help="shufflings (and rotations) for the null distributions (default: 100)")
    compare.add_argument("--seed", type=_seed, default=0, help="seed of the shufflings and rotations (default: 0)")
    compare.add_argument("--axes-only", action="store_true",
                         help="only the axis-aligned overlap against R random rotations: the baseline of the "
                         "report's headline table, which `study` computes for every pair of runs over 1,000 words")
    sync = commands.add_parser("mlflow-sync", help="log to MLflow the runs and studies whose logging failed")
    _add_experiment_option(sync)

    report = commands.add_parser("report", help="write the HTML study report from the database")
    report.add_argument("--out", type=Path, default=DEFAULT_REPORT_DIR, metavar="DIR",
                        help=f"folder for index.html (default: {DEFAULT_REPORT_DIR})")
    report.add_argument("--mlflow", action="store_true",
                        help="also log the page to the MLflow run of the database's latest study")
    _add_experiment_option(report)

    study = commands.add_parser("study", help="the sweep of a preset (runs, comparisons, feature sets; stored "
                                "ones skipped), then the report")
    study.add_argument("--preset", type=_preset, default=None, metavar="NAME|FILE.toml",
                       help="a shipped preset (`--list` names them; default: default, every section of the report) or a sweep file of your own, "
                       "such as a copy of one (see `polyuni sweep`)")
    study.add_argument("--list", action="store_true", help="name the shipped presets and what each holds, then stop")
    study.add_argument("--with-google-news", action="store_true",
                       help="add word2vec-google-news-300 (gensim downloader: internet, 1.6 GB)")
    study.add_argument("--out", type=Path, default=DEFAULT_REPORT_DIR, metavar="DIR",
                       help=f"folder for the report's index.html (default: {DEFAULT_REPORT_DIR})")
    study.add_argument("--no-mlflow", action="store_true", help="do not log runs to MLflow")
    _add_experiment_option(study)
    _add_executor_options(study)

    sweep = commands.add_parser("sweep", help="compute a grid of runs from a TOML file on an executor, then "
                                "its comparisons")
    sweep.add_argument("file", type=Path, metavar="SWEEP.toml",
                       help="the study: [analysis], [[train]], [pretrained], [[rotations]], [pseudowords], "
                       "[filtered], [compare], [rotation_nulls], [features] (a complete file below; `polyuni study "
                       "--list` names the presets, all sweep files)")
    sweep.add_argument("--no-mlflow", action="store_true", help="do not log runs to MLflow")
    _add_experiment_option(sweep)
    _add_executor_options(sweep)

    import_ = commands.add_parser("import", help="store run bundles (from `--bundles DIR` here or elsewhere)")
    import_.add_argument("paths", nargs="+", type=Path, metavar="BUNDLE_DIR",
                         help="a bundle folder (fingerprint=...) or a folder of them")
    import_.add_argument("--no-mlflow", action="store_true", help="do not log the runs to MLflow")
    _add_experiment_option(import_)
    import_.add_argument("--force", action="store_true", help="replace runs that are already stored")

    bench = commands.add_parser("bench", help="time our kernels against the original gensim loop")
    bench.add_argument("--vocab", type=_positive, default=1_000_000, metavar="N",
                       help="rows of the synthetic matrix (default: 1000000)")
    bench.add_argument("--dim", type=_positive, default=300, metavar="D",
                       help="its columns, the dimensions (default: 300)")
    bench.add_argument("--pairs", type=int, default=100, metavar="P",
                       help="difference pairs to time on GloVe 50d (0 to skip; default: 100)")
    bench.add_argument("--gensim-dims", type=_positive, metavar="N",
                       help="time the gensim loop on the first N dimensions only, scaled to all (default: all)")
    bench.add_argument("--features", action="store_true",
                       help="measure the features instead: on GloVe, the overcomplete dictionary (omp) beside the "
                       "reproducible method (ica), two seeds each: seed ceiling (matched |r|), top-word Jaccard, "
                       "R² and seconds per feature set, side by side")

    sql = commands.add_parser("sql", help="run one read-only SQL query",
                              description="Run one query on a read-only connection that can reach nothing "
                              "outside the database (no files, other databases, extensions or network) "
                              "unless --read-files or --attach allows it, read-only.")
    sql.add_argument("query", help="one SQL query (SELECT, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN, PRAGMA)")
    _add_format_option(sql, "csv and json stream every row with every digit")
    sql.add_argument("--limit", type=_non_negative, metavar="N",
                     help=f"print at most N rows, 0 for all (default: {SQL_TABLE_LIMIT} for table, all for csv and json)")
    sql.add_argument("--read-files", type=Path, nargs="+", default=[], metavar="DIR",
                     help="let the query read files under these folders, e.g. read_csv('DIR/x.csv') (default: none)")
    sql.add_argument("--attach", type=Path, nargs="+", default=[], metavar="DB",
                     help="attach these DuckDB files read-only, each as its file name without extension (default: none)")

    features = commands.add_parser("features", help="learn a sparse dictionary (features) per run and seed, "
                                   "encode every word, score the atoms")
    features.add_argument("labels", nargs="+", metavar="LABEL", help="stored runs")
    _add_feature_settings(features)
    features.add_argument("--seeds", type=_seed, nargs="+", default=[1], metavar="S",
                          help="dictionary seeds, 0 to 2147483647; two or more are also matched with each other: "
                          "the run's seed ceiling (default: 1)")
    features.add_argument("--jobs", type=_positive, default=2, metavar="J", help="cores for encoding (default: 2)")
    features.add_argument("--force", action="store_true",
                          help="recompute and replace feature sets already stored, and the matches they took part in")

    match = commands.add_parser("match-features", help="match the features of every pair of the given runs "
                                "by activation correlation, against shuffled word correspondences")
    match.add_argument("sets", nargs="+", type=_feature_set_name, metavar="LABEL[@SEED]",
                       help="feature sets: a stored run and its dictionary seed (bare LABEL: seed 1), "
                       "e.g. glove@1 glove_rot1@3; sets fitted from the same seed on the same words are flagged "
                       "shared_initialization and are no evidence")
    _add_feature_settings(match)
    match.add_argument("--shared-words", type=_positive, default=50_000, metavar="N",
                       help="match over the N most frequent words both runs share (default: 50000)")
    match.add_argument("--permutations", type=_positive, default=20, metavar="R",
                       help="shuffled word correspondences for the null (default: 20)")
    match.add_argument("--threshold", type=float, default=0.5, metavar="T",
                       help="count atoms matched with |correlation| above T (default: 0.5)")
    match.add_argument("--force", action="store_true", help="recompute pairs matched before with these settings")
    _describe(parser)
    for _, command in list(every_command(parser))[1:]:  # the global options after the command too
        _add_global_options(command.add_argument_group("global options (also before the command)"),
                            default=argparse.SUPPRESS)
    return parser


# Shown under every command's --help; a test checks that each command has some.
EXAMPLES = {
    "init": ["polyuni --db study.duckdb init"],
    "ingest": ["polyuni ingest pretrained glove-wiki-gigaword-50", "polyuni ingest train --corpus brown --dims 50"],
    "ingest pretrained": ["polyuni ingest pretrained glove-wiki-gigaword-50",
                          "polyuni ingest pretrained minilm-token-embeddings"],
    "ingest file": ["polyuni ingest file vectors.bin --format word2vec-bin --label mine --limit 100000"],
    "ingest train": ["polyuni ingest train --corpus brown --dims 40 50 60 --seeds 1 2 3",
                     "polyuni ingest train --corpus corpus_food --dims 3 --sample 0 --epochs 1000 --label food_t{dim}",
                     "polyuni ingest train --corpus lee_background --dims 50 --algorithm ppmi-svd",
                     "polyuni ingest train --corpus brown --dims 50 --pseudowords 30 --pseudoword-seed 1"],
    "ingest control": ["polyuni ingest control rotate --of glove --seed 1"],
    "ingest control rotate": ["polyuni ingest control rotate --of glove --seed 1   # the run glove_rot1"],
    "ingest control filter": ["polyuni ingest control filter --of brown_50 brown_50_s2 --min-count 5"],
    "runs": ["polyuni runs --like 'brown%'", "polyuni runs --source pretrained --format csv"],
    "compare": ["polyuni compare glove glove_rot1 brown_50 --words 10000 --permutations 100",
                "polyuni sql \"SELECT label_a, label_b, metric, value, null_mean FROM similarity_scores\""],
    "mlflow-sync": ["polyuni mlflow-sync"],
    "report": ["polyuni report --out reports/out   # then open reports/out/index.html"],
    "study": ["polyuni study --list", "polyuni study --preset quick",
              "polyuni study --preset my_study.toml --executor local:1 --no-mlflow"],
    "sweep": ["polyuni sweep my_study.toml --executor local:2 --bundles bundles/",
              "polyuni sweep my_study.toml --executor tcp://scheduler:8786 --bundles /shared/bundles"],
    "import": ["polyuni import bundles/", "polyuni import /shared/bundles/fingerprint=3fa2... --force"],
    "bench": ["polyuni bench --vocab 100000 --dim 50 --pairs 0", "polyuni bench --features"],
    "sql": ["polyuni sql \"SELECT label, dim, vocab_size FROM runs\" --format csv",
            "polyuni sql \"SELECT * FROM read_csv('data/x.csv')\" --read-files data"],
    "features": ["polyuni features glove --seeds 1 2", "polyuni features brown_50 --method omp --atoms 300"],
    "match-features": ["polyuni match-features glove@1 glove_rot1@3", "polyuni match-features glove@1 glove@2 --force"],
}
# What `polyuni sweep --help` shows: a sweep file with every section, small enough to try (a test loads it).
SWEEP_FILE = """\
# my_study.toml: every section of a sweep file (presets are such files:
# `polyuni study --list`). Keys left out take the defaults of the commands.
[analysis]                 # computed from every run (part of its fingerprint)
top_k = 5                  # default 10
pairs = ["man:woman"]      # difference vectors; default: the study's three

[[train]]                  # every corpus x algorithm x dimension x seed
corpora = ["lee_background", "inaugural"]
algorithms = ["word2vec-sg", "ppmi-svd"]  # also word2vec-cbow, fasttext
dims = [8, 16]
seeds = [1, 2]             # default [1]; ppmi-svd has none
epochs = 2                 # any setting of `polyuni ingest train`

[pretrained]               # as `polyuni ingest pretrained`
names = ["glove-wiki-gigaword-50"]

[[rotations]]              # controls: a run times a random rotation
of = "glove"
seeds = [1]

[pseudowords]              # planted polysemy, beside the trained runs on
corpus = "lee_background"  # the corpus at these dims and seeds
count = 6
dims = [8]
seeds = [1, 2]

[filtered]                 # dimension words among words seen min_count times
min_count = 5

[compare]                  # every pair, as `polyuni compare`; also runs and
words = 500                # exclude (label patterns)
permutations = 10

[rotation_nulls]           # the headline table's baseline
rotations = 10

[features]                 # two feature sets a run, seeds of its own;
                           # also runs, exclude (label patterns)
nonzero = 2
words = 300
runs = ["lee_background_8*"]
"""


def _describe(parser: argparse.ArgumentParser) -> None:
    """Each command's --help opens with its one-line summary (the line `polyuni --help` lists) and ends
    with examples."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for choice in action._choices_actions:
            command = action.choices[choice.dest]
            name = command.prog.removeprefix("polyuni ")
            command.description = command.description or choice.help[0].upper() + choice.help[1:] + "."
            command.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
            if name == "sweep":
                command.epilog = "a sweep file:\n\n" + SWEEP_FILE + "\n" + command.epilog
            command.formatter_class = argparse.RawDescriptionHelpFormatter
            _describe(command)


def _add_global_options(parser, default=None) -> None:
    """--db and --lock-timeout. Given after the command they are parsed there; SUPPRESS leaves them unset
    when absent, so that the values given before the command, or the defaults, stand."""
    parser.add_argument("--db", type=Path, default=default, metavar="PATH",
                        help="DuckDB file (default: $POLYUNI_DB or ./polyuni.duckdb)")
    parser.add_argument("--lock-timeout", type=_seconds, metavar="S",
                        default=DEFAULT_LOCK_TIMEOUT if default is None else default,
                        help="seconds to wait while another process writes the database (default: 60)")


def every_command(parser: argparse.ArgumentParser | None = None):
    """Every parser of the command line, the top one first: (its ``prog``, e.g. "polyuni ingest train",
    the parser). The documentation's reference and the tests walk it."""
    parser = parser or build_parser()
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from every_command(sub)


def help_texts(width: int = 82):
    """(command, its description, its ``--help`` at ``width`` columns) for every command."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)  # argparse wraps at the terminal's width, read from here
    try:
        return [(prog, parser.description or "", parser.format_help()) for prog, parser in every_command()]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous


def _add_feature_settings(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=("ica", "omp"), default="ica",
                        help="ica: independent components fitted 6 times from independent starts, each atom scored "
                        "by how often it reappears (reproducible); omp: an overcomplete dictionary fitted once, "
                        "for comparison (default: ica)")
    parser.add_argument("--atoms", type=int, default=None, metavar="M",
                        help="atoms per dictionary (default: ica, the run's dimensions; omp, 1000)")
    parser.add_argument("--nonzero", type=int, default=None, metavar="K",
                        help="atoms per word (default: ica, three tenths of the atoms, 15 for 50; omp, 5)")
    parser.add_argument("--words", type=int, default=20_000, metavar="N",
                        help="fit on the N most frequent trained words; every word is encoded (default: 20000)")


def _print_result(result, notes: bool = True) -> None:
    if result.action == "skipped":
        print(f"{result.label}: already stored as run {result.run_id} (same fingerprint); --force recomputes it")
        return
    line = f"{result.label}: {result.action} as run {result.run_id}"
    if result.action == "synced":
        line = f"{result.label}: run {result.run_id}" + ("" if result.mlflow_run_id else " not logged")
    if result.mlflow_run_id:
        line += f", MLflow run {result.mlflow_run_id}"
    print(line)
    if result.notes and notes:
        print(f"  pairs not computed: {'; '.join(result.notes)}")
    if result.mlflow_error:
        print(f"  MLflow logging failed ({result.mlflow_error}); the findings are stored", file=sys.stderr)


def _ingest(args, db: Path) -> None:
    from polyuni_db.runs.findings import AnalysisSettings
    from polyuni_db.runs.pipeline import ingest

    if args.source == "control" and args.control == "filter":  # a variant of stored runs, no new run
        from polyuni_db.derived.compare import add_filtered_variant

        for label in args.of:
            n_words = add_filtered_variant(db, label, args.min_count, lock_timeout=args.lock_timeout)
            print(f"{label}: dimension words among its {n_words} trained words counted {args.min_count}+ times stored")
        return

    settings = AnalysisSettings(top_k=args.top_k or AnalysisSettings.top_k, pairs=tuple(args.pairs),
                                all_if_fewer=args.top_k is None, superposition_words=args.superposition_words)
    common = dict(settings=settings, track=not args.no_mlflow, force=args.force,
                  progress=Bars(), lock_timeout=args.lock_timeout)
    if args.source == "pretrained":
        from polyuni_db.sources.pretrained import PretrainedSource

        _print_result(ingest(PretrainedSource(args.name, args.limit), db, label=args.label, **common))
    elif args.source == "file":
        from polyuni_db.sources.files import FileSource

        _print_result(ingest(FileSource(args.path, args.format, args.limit), db, label=args.label, **common))
    elif args.source == "train":
        grid = list(_training_grid(args))
        if grid[0][0].corpus.pseudowords:  # planted runs, each beside its reference run: in this process
            for source, label in grid:
                _ingest_planted(source, db, label, args, common)
        else:
            _train_grid(args, db, settings, grid)
    elif args.control == "rotate":
        from polyuni_db.derived.compare import record_rotation_check
        from polyuni_db.sources.control import RotationSource

        result = ingest(RotationSource(db, args.of, args.seed), db, label=args.label, **common)
        _print_result(result)
        change = record_rotation_check(db, args.of, result.label, args.lock_timeout)
        print(f"  largest change of a pairwise cosine: {change:.2e}")


GENSIM_ALGORITHMS = ("word2vec-sg", "word2vec-cbow", "fasttext")
# The algorithms each training option applies to (window and min-count apply to all); given to any
# other, an option is refused, not ignored.
TRAIN_OPTIONS = {
    "seeds": GENSIM_ALGORITHMS,
    **{name: GENSIM_ALGORITHMS for name in TrainParams.__dataclass_fields__ if name not in ("window", "min_count")},
    "min_n": ("fasttext",), "max_n": ("fasttext",), "bucket": ("fasttext",),
    "smoothing": ("ppmi-svd",), "eigenvalue_weight": ("ppmi-svd",),
}


def _algorithm(args) -> str:
    """--algorithm, else what --sg says (--sg 0 alone is CBOW, as before algorithms were named)."""
    if args.algorithm is None:
        return "word2vec-cbow" if args.sg == 0 else "word2vec-sg"
    for option, algorithms in TRAIN_OPTIONS.items():
        if getattr(args, option) is not None and args.algorithm not in algorithms:
            flag = "--no-shrink-windows" if option == "shrink_windows" else "--" + option.replace("_", "-")
            raise PolyuniError(f"{flag} does not apply to {args.algorithm} (only to {', '.join(algorithms)})")
    if args.algorithm.startswith("word2vec") and args.sg is not None and args.sg != (args.algorithm == "word2vec-sg"):
        raise PolyuniError(f"--sg {args.sg} contradicts --algorithm {args.algorithm}")
    return args.algorithm


def _given(args, names) -> dict:
    """The options among ``names`` that were given (the rest keep their dataclass defaults)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _train_grid(args, db: Path, settings, grid: list) -> None:
    """Every (dimension, seed) of the grid on the executor; one that fails is reported, the others go on."""
    from polyuni_db.runs.executor import run_all
    from polyuni_db.runs.sweep import PlannedRun

    runs = [PlannedRun(label or source.default_label(), f"{source.algorithm} on {source.corpus.name}, {source.dim} "
                     f"dimensions, seed {getattr(source, 'seed', None)}", lambda db_path, source=source: (source, settings))
            for source, label in grid]
    executor = args.executor or ("inline" if len(runs) == 1 else DEFAULT_EXECUTOR)
    outcomes = run_all(db, runs, executor, args.bundles, track=not args.no_mlflow, force=args.force,
                       progress=Bars(), lock_timeout=args.lock_timeout, record_failures=False, yes=args.yes,
                       on_outcome=_show_outcome if len(runs) > 1 else lambda outcome: None)
    failed = [outcome for outcome in outcomes if outcome.result is None]
    if len(runs) == 1:
        if failed:
            raise PolyuniError(failed[0].error)
        _print_result(outcomes[0].result)
    elif failed:
        raise PolyuniError(f"{len(failed)} of {len(outcomes)} runs failed: {', '.join(o.label for o in failed)}")


def _show_outcome(outcome) -> None:
    if outcome.result is None:
        print(f"{outcome.label}: could not be ingested ({outcome.error})", file=sys.stderr)
    else:
        _print_result(outcome.result)


def _ingest_planted(source, db: Path, label: str | None, args, common: dict) -> None:
    from polyuni_db.derived.planted import ingest_planted

    # a --label template names the reference too, by the original corpus's name
    reference_label = args.label.format(corpus=source.corpus.base.name, algorithm=source.algorithm, dim=source.dim,
                                        seed=getattr(source, "seed", None)) if args.label and not args.reference else None
    outcome = ingest_planted(source, db, label=label, reference=args.reference, reference_label=reference_label, **common)
    if outcome.reference is not None:
        _print_result(outcome.reference)
    _print_result(outcome.result)
    print(outcome.summary.line())


def _training_grid(args):
    """One source per (dimension, seed), the corpus read once."""
    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.fasttext import FastTextSource, SubwordParams
    from polyuni_db.sources.ppmi_svd import PpmiParams, PpmiSvdSource
    from polyuni_db.sources.trained import TrainedSource

    algorithm = _algorithm(args)
    seeds = [None] if algorithm == "ppmi-svd" else (args.seeds or [1])
    if algorithm == "ppmi-svd":
        ppmi_params = PpmiParams(**_given(args, PpmiParams.__dataclass_fields__))
    else:
        settings = _given(args, TrainParams.__dataclass_fields__)
        if algorithm.startswith("word2vec"):
            settings["sg"] = int(algorithm == "word2vec-sg")
        params = TrainParams(**settings)
    if algorithm == "fasttext":
        subwords = SubwordParams(**_given(args, SubwordParams.__dataclass_fields__))
    template = args.label
    if template:
        for placeholder, values in (("{dim}", args.dims), ("{seed}", seeds)):
            if len(set(values)) > 1 and placeholder not in template:
                raise PolyuniError(f"--label {template!r} needs {placeholder}: several runs would share it")
        try:
            template.format(corpus="c", algorithm="a", dim=1, seed=1)
        except (KeyError, IndexError, ValueError):
            raise PolyuniError(f"--label {template!r}: a template may use only {{corpus}}, {{algorithm}}, "
                               "{dim} and {seed}") from None
    corpus = load_corpus(args.corpus, lowercase=args.lowercase, progress=Bars())
    if args.pseudowords or args.merge:
        from polyuni_db.sources.pseudowords import plant_pseudowords

        corpus = plant_pseudowords(corpus, args.pseudowords or 0, args.pseudoword_seed,
                                   tuple(args.pseudoword_counts), args.merge)
        if template and "{corpus}" not in template and not args.reference:
            raise PolyuniError(f"--label {template!r} needs {{corpus}}: the reference run on {args.corpus} would share it")
    elif args.reference:
        raise PolyuniError("--reference is for runs with --pseudowords or --merge")
    for dim in args.dims:
        for seed in seeds:
            if algorithm == "ppmi-svd":
                source = PpmiSvdSource(corpus, dim, ppmi_params)
            elif algorithm == "fasttext":
                source = FastTextSource(corpus, dim, seed, params, subwords)
            else:
                source = TrainedSource(corpus, dim, seed, params)
            label = template.format(corpus=corpus.name, algorithm=algorithm, dim=dim, seed=seed) if template else None
            yield source, label


def _runs(args, db: Path) -> None:
    from polyuni_db.store.read import list_runs

    from polyuni_db.runs.tracking import describe_experiment

    columns, rows = list_runs(db, args.lock_timeout, like=args.like, source=args.source, corpus=args.corpus)
    if not rows and args.format == "table":
        print(f"no runs in {db}" + (" match" if args.like or args.source or args.corpus else ""))
        return
    _write_rows(columns, [rows], args.format)
    # on stderr: what stdout prints stays rows, in every format
    print(f"polyuni: runs are logged to {describe_experiment(db, args.lock_timeout)}", file=sys.stderr)


def _print_table(columns: list[str], rows: list[list]) -> None:
    _print_table_batches(columns, [rows])


def _cell(value) -> str:
    """A value as a table shows it: floats at 4 significant digits, times to the second, lists item by item."""
    if value is None:
        return ""
    if isinstance(value, (float, Decimal)):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_cell(item) for item in value) + "]"
    return str(value)


def _print_table_batches(columns: list[str], batches) -> None:
    """Aligned columns, widths taken from the first batch so that later ones print as they come."""
    widths = None
    for rows in batches:
        text = [[_cell(value) for value in row] for row in rows]
        if widths is None:
            widths = [max([len(name)] + [len(row[i]) for row in text]) for i, name in enumerate(columns)]
            print("  ".join(name.ljust(width) for name, width in zip(columns, widths)).rstrip())
            print("  ".join("-" * width for width in widths))
        for row in text:
            print("  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip())
    if widths is None:
        _print_table_batches(columns, [[]])


def _json_value(value):
    """What json cannot write itself: DECIMAL as a number, times and the rest as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _write_rows(columns: list[str], batches, format_: str) -> None:
    """Rows as a table, csv or json, written batch by batch as they arrive."""
    if format_ == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for rows in batches:
            writer.writerows(rows)
    elif format_ == "json":  # a JSON array, one object a line
        separator = "[\n"
        for rows in batches:
            for row in rows:
                sys.stdout.write(separator + json.dumps(dict(zip(columns, row)), default=_json_value,
                                                        ensure_ascii=False))
                separator = ",\n"
        print("[]" if separator == "[\n" else "\n]")
    else:
        _print_table_batches(columns, batches)


def _first_rows(batches, limit: int, cut: list):
    """The batches up to ``limit`` rows in all (0: all); ``cut`` gets True when rows were left out."""
    remaining = limit or None
    for rows in batches:
        if remaining is not None and len(rows) >= remaining:
            if len(rows) > remaining or next(batches, None):
                cut.append(True)
            yield rows[:remaining]
            return
        if remaining is not None:
            remaining -= len(rows)
        yield rows


def _sql(args, db: Path) -> None:
    from polyuni_db.store.read import stream_query

    limit = args.limit if args.limit is not None else (SQL_TABLE_LIMIT if args.format == "table" else 0)
    cut: list = []
    with stream_query(db, args.query, args.lock_timeout, read_folders=tuple(args.read_files),
                      attach=tuple(args.attach)) as (columns, batches):
        _write_rows(columns, _first_rows(batches, limit, cut), args.format)
    if cut:
        print(f"polyuni: only the first {limit} rows are shown; --limit N shows more, --limit 0 all",
              file=sys.stderr)


def run(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["polyuni", *(sys.argv[1:] if argv is None else argv)])
    db = args.db or default_db_path()
    if getattr(args, "experiment", None):
        from polyuni_db.runs.tracking import experiment_chosen

        with experiment_chosen(args.experiment):
            _dispatch(args, db)
    else:
        _dispatch(args, db)


def _dispatch(args, db: Path) -> None:
    if args.command == "init":
        from polyuni_db.store.read import init

        print(f"{db}: schema at revision {init(db, args.lock_timeout)}")
    elif args.command == "ingest":
        _ingest(args, db)
    elif args.command == "runs":
        _runs(args, db)
    elif args.command == "sql":
        _sql(args, db)
    elif args.command == "compare":
        from polyuni_db.derived.instruments import compare, rotation_nulls
        from polyuni_db.derived.verdict import record_verdict

        if args.axes_only:
            stored = rotation_nulls(db, args.labels, args.permutations, args.seed, Bars(), args.lock_timeout)
        else:
            stored = compare(db, args.labels, args.words, args.k, args.permutations, args.seed, Bars(), args.lock_timeout)
        record_verdict(db, args.lock_timeout)
        print(f"{stored} similarity scores stored (pairs compared before with these settings are kept); "
              "see the views similarity_scores and verdict")
    elif args.command == "bench":
        _bench(args)
    elif args.command == "mlflow-sync":
        _mlflow_sync(db, args.lock_timeout)
    elif args.command == "report":
        _report(args, db)
    elif args.command == "study":
        _study(args, db)
    elif args.command == "sweep":
        _sweep(args, db)
    elif args.command == "import":
        _import(args, db)
    elif args.command == "features":
        _features(args, db)
    elif args.command == "match-features":
        _match_features(args, db)


def _mlflow_sync(db: Path, lock_timeout: float) -> None:
    from polyuni_db.runs.pipeline import sync_mlflow
    from polyuni_db.runs.tracking import sync_studies

    results = sync_mlflow(db, lock_timeout)  # runs first: a study's children before the study
    for result in results:
        _print_result(result)
    studies = sync_studies(db, lock_timeout)
    for study, mlflow_run_id, error in studies:
        _print_study(study["kind"], study["name"], mlflow_run_id, error)
    if not results and not studies:
        print("every run and study is logged in MLflow (or was run with --no-mlflow)")


def _print_study(kind: str, name: str, mlflow_run_id: str | None, error: str | None) -> None:
    if error:
        print(f"{kind} {name}: MLflow logging failed ({error}); it is stored, `polyuni mlflow-sync` logs it",
              file=sys.stderr)
    else:
        print(f"{kind} {name}: MLflow run {mlflow_run_id}, its runs as children")


def _report(args, db: Path) -> None:
    from polyuni_db.runs.tracking import log_report, report_study_run

    study = report_study_run(db, args.lock_timeout) if args.mlflow else None  # before any work
    _report_page(db, args.out, args.lock_timeout)
    if study:
        log_report(db, args.out, study[1], args.lock_timeout)
        print(f"report logged to MLflow run {study[1]} (study {study[0]})")


def _bench(args) -> None:
    from polyuni_db.bench import bench_features, run_bench

    if args.features:
        result = {key: round(value, 4) if isinstance(value, float) else value for key, value in bench_features().items()}
        methods = ("omp", "ica")
        _print_table(["measure", *methods], [[measure, *(result[f"features_{m}_{measure}"] for m in methods)] for measure in (
            "atoms", "reproducible_atoms", "seed_ceiling_r", "top_word_jaccard", "r2", "seconds", "cpu_seconds")])
        print(json.dumps(result))
        return
    result = run_bench(args.vocab, args.dim, args.pairs, gensim_dims=args.gensim_dims, progress=Bars()).as_dict()
    rows = [[key, "" if value is None else value] for key, value in result.items()]
    _print_table(["measure", "value"], rows)
    print(json.dumps(result))


def _check_report_folder(out: Path) -> None:
    """Before any work: index.html must be writable in ``out`` (made if missing)."""
    from polyuni_db.store.db import can_create_in

    if out.exists() and not out.is_dir():
        raise PolyuniError(f"--out {out} is a file; give a folder for index.html")
    existing = next(folder for folder in (out, *out.absolute().parents) if folder.exists())
    if not existing.is_dir() or not can_create_in(existing):
        raise PolyuniError(f"--out {out}: cannot write in {existing}")


def _report_page(db: Path, out: Path, lock_timeout: float) -> None:
    from polyuni_db.report import render_report

    _check_report_folder(out)
    timings: dict = {}
    path = render_report(db, out, lock_timeout, progress=Bars(), timings=timings)
    cached = timings["figures"] - timings["drawn"]
    print(f"report: {path.resolve()} (read in {timings['read_seconds']:.1f} s; {timings['figures']} figures in "
          f"{timings['draw_seconds']:.1f} s: {timings['drawn']} drawn, {cached} from the cache)")


def _preset(text: str) -> str:
    from polyuni_db.study import preset_path

    try:
        preset_path(text)
    except PolyuniError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _study(args, db: Path) -> None:
    from collections import Counter

    from polyuni_db.study import DEFAULT_PRESET, preset_path, presets, run_study
    from polyuni_db.runs.tracking import study_run

    if args.list:
        for name, description in presets().items():
            print(f"{name:10} {description}")
        return
    args.preset = args.preset or DEFAULT_PRESET
    _check_report_folder(args.out)
    missing_pairs = Counter()

    def show(outcome) -> None:
        if outcome.result is None:
            print(f"{outcome.label}: could not be ingested ({outcome.error}); the report says so", file=sys.stderr)
        else:
            _print_result(outcome.result, notes=False)
            missing_pairs.update(note.split(" ")[0] for note in outcome.result.notes)

    settings = {"preset": args.preset, "with_google_news": args.with_google_news}
    name = Path(args.preset).name  # quick, or my_study.toml
    phase = _phase_lines("study")
    with study_run(db, "study", name, settings, args.executor, args.command_line, _sweep_files(preset_path(args.preset)),
                   track=not args.no_mlflow, lock_timeout=args.lock_timeout) as study:
        outcomes = run_study(db, args.preset, with_google_news=args.with_google_news, track=not args.no_mlflow,
                             progress=Bars(), lock_timeout=args.lock_timeout, on_outcome=show,
                             executor=args.executor, bundles=args.bundles, on_status=SweepBar(), yes=args.yes,
                             phase=phase)
        study.add(outcomes)
        _study_summary(args, outcomes, missing_pairs)
        with phase("report"):
            _report_page(db, args.out, args.lock_timeout)
        study.report_folder = args.out
    if not args.no_mlflow:
        _print_study("study", name, study.mlflow_run_id, study.mlflow_error)
    _fail_if_any([outcome for outcome in outcomes if outcome.result is None], len(outcomes))


def _study_summary(args, outcomes, missing_pairs) -> None:
    from polyuni_db.study import not_requested

    if missing_pairs:  # expected where a corpus lacks the words; `polyuni sql` on difference_pairs says which
        print("pairs not computed, their words missing from the model: "
              + ", ".join(f"{pair} in {n} runs" for pair, n in missing_pairs.items())
              + " (see the view difference_comparison)")
    failed = [outcome for outcome in outcomes if outcome.result is None]
    for label, reason in [*((o.label, o.error) for o in failed), *not_requested(args.preset, args.with_google_news)]:
        print(f"not in this study: {label} ({reason})")


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60) if seconds >= 60 else (0, seconds)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds:.1f} s"


def _phase_lines(command: str):
    """A Phase that says when each phase of a study or sweep starts, and how long it took."""
    @contextmanager
    def phase(name: str):
        print(f"{command}: {name} ...")
        started = time.monotonic()
        yield
        print(f"{command}: {name} done in {_duration(time.monotonic() - started)}")

    return phase


def _fail_if_any(failed: list, total: int) -> None:
    """A sweep or study with a failed run exits 1, after its summary: scripts and CI see it."""
    if failed:
        raise PolyuniError(f"{len(failed)} of {total} runs failed ({', '.join(o.label for o in failed[:5])}"
                           f"{', ...' if len(failed) > 5 else ''}); see unavailable_sources")


def _sweep(args, db: Path) -> None:
    from polyuni_db.runs.sweep import run_sweep
    from polyuni_db.runs.tracking import study_run

    settings, files = {"file": str(args.file)}, _sweep_files(args.file)
    with study_run(db, "sweep", args.file.name, settings, args.executor, args.command_line, files,
                   track=not args.no_mlflow, lock_timeout=args.lock_timeout) as sweep:
        outcomes, compared = run_sweep(db, args.file, args.executor, args.bundles, track=not args.no_mlflow,
                                       progress=Bars(), lock_timeout=args.lock_timeout, on_outcome=_show_outcome,
                                       on_status=SweepBar(), yes=args.yes, phase=_phase_lines("sweep"))
        sweep.add(outcomes)
    failed = [outcome for outcome in outcomes if outcome.result is None]
    print(f"sweep: {len(outcomes) - len(failed)} of {len(outcomes)} runs stored, {len(failed)} failed "
          "(see unavailable_sources)" + ("" if compared is None else f"; {compared} similarity scores stored"))
    if not args.no_mlflow:
        _print_study("sweep", args.file.name, sweep.mlflow_run_id, sweep.mlflow_error)
    _fail_if_any(failed, len(outcomes))


def _sweep_files(path: Path) -> dict[str, str]:
    """The sweep (or preset) file's text by its name, for the MLflow run; none when it cannot be read
    (then run_sweep says why, in one line)."""
    try:
        return {path.name: path.read_text(encoding="utf-8")}
    except (OSError, UnicodeDecodeError):
        return {}


def _import(args, db: Path) -> None:
    from polyuni_db.runs.bundle import find_bundles, read_bundle
    from polyuni_db.runs.pipeline import commit_bundle

    bundles = [bundle for path in args.paths for bundle in find_bundles(path)]
    if not bundles:
        raise PolyuniError(f"no bundles (folders named fingerprint=...) in {', '.join(map(str, args.paths))}")
    for bundle in bundles:  # every bundle checked before any is imported: one refused, none written
        read_bundle(bundle)
    for bundle in bundles:
        _print_result(commit_bundle(db, bundle, track=not args.no_mlflow, force=args.force,
                                    progress=Bars(), lock_timeout=args.lock_timeout))


def _features(args, db: Path) -> None:
    from polyuni_db.derived.features import FeatureSettings, compute_features
    from polyuni_db.derived.planted import record_feature_recoveries

    def show(outcome) -> None:
        name = f"{outcome.label}@{outcome.seed}"
        if outcome.action == "skipped":
            print(f"{name}: already stored as feature set {outcome.feature_set_id} (same fingerprint); "
                  "--force recomputes it")
        elif outcome.action == "stored meanwhile":
            print(f"{name}: stored as feature set {outcome.feature_set_id} by another polyuni while this one "
                  "computed it; kept (--force replaces it)")
        else:
            row = outcome.row
            replaced = ""
            if outcome.replaced:
                replaced = f" (replaced feature set {', '.join(map(str, outcome.replaced))}"
                replaced += f"; its matches recomputed: {', '.join(outcome.rematched)})" if outcome.rematched else ")"
            print(f"{name}: {outcome.action} as feature set {outcome.feature_set_id}{replaced}: "
                  f"R² {row['explained_variance']:.3f}, {row['dead_atoms']} dead atoms, {row['n_encoded']:,} words "
                  f"encoded in {row['seconds']:.1f} s")

    settings = FeatureSettings(args.atoms, args.nonzero, args.words, args.method)
    compute_features(db, args.labels, settings, args.seeds, args.force, args.jobs, Bars(), args.lock_timeout, show)
    # a run with planted pseudowords whose reference has features too: the features instrument
    for label, recovered, measured in record_feature_recoveries(db, args.labels, settings, args.seeds[0],
                                                                args.lock_timeout):
        print(f"{label}: features find both senses of {recovered} of {measured} pseudowords "
              "(see the view pseudoword_instrument_recovery, instrument feature_atoms)")
    print("see the views feature_set_summary, atom_quality, word_polysemy, dimension_polysemanticity, feature_stability")


def _match_features(args, db: Path) -> None:
    from polyuni_db.derived.features import FeatureSettings, match_features
    from polyuni_db.derived.verdict import record_verdict

    settings = FeatureSettings(args.atoms, args.nonzero, args.words, args.method)
    for name_a, name_b, score, action in match_features(db, args.sets, settings, args.shared_words, args.permutations,
                                                        args.threshold, args.force, Bars(), args.lock_timeout):
        if action == "skipped":
            print(f"{name_a} ~ {name_b}: matched before with these settings; --force recomputes it")
            continue
        if action == "no reproducible atoms":
            print(f"{name_a} ~ {name_b}: not matched: {score['n_atoms_a']} and {score['n_atoms_b']} reproducible atoms "
                  "(see the view atom_quality)")
            continue
        z = "z not defined (the null does not vary)" if score["z"] is None else f"z {score['z']:.1f}"
        p = ("<" if score["p_value_is_bound"] else "=") + f" {score['p_value']:.3g}"
        print(f"{name_a} ~ {name_b}: mean matched |r| {score['mean_matched_correlation']:.3f} over "
              f"{score['n_atoms_a']} and {score['n_atoms_b']} reproducible atoms and {score['n_words']:,} words, "
              f"top-word Jaccard {score['top_word_jaccard'] or 0:.3f} (null {score['null_mean']:.3f}, {z}, p {p}), "
              f"{score['n_matched_above_threshold']} atoms above {score['threshold']:g}"
              + ("; SHARED INITIALISATION: same seed on the same words, not evidence"
                 if score["shared_initialization"] else ""))
    record_verdict(db, args.lock_timeout)
    print("see the views feature_universality, matched_features and verdict")


# DuckDB's words for a machine that cannot take a write (disk full, file size limit, permissions).
STORAGE_FAILURES = ("Could not write", "No space left", "File too large", "Permission denied", "Read-only file system")


def _environment_error(error: Exception) -> str | None:
    """A failure of the machine rather than of polyuni (disk full, permissions, memory), in one line."""
    import duckdb

    error = getattr(error, "orig", None) or error  # SQLAlchemy wraps DuckDB's errors
    if isinstance(error, MemoryError):
        return "out of memory" + (f": {error}" if str(error) else "")
    if isinstance(error, OSError):
        return str(error)
    if isinstance(error, (duckdb.IOException, duckdb.PermissionException, duckdb.OutOfMemoryException)) or (
            isinstance(error, duckdb.Error) and any(words in str(error) for words in STORAGE_FAILURES)):
        return str(error).splitlines()[0]
    return None


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user mistakes become one line on stderr, never a traceback."""
    for stream in (sys.stdout, sys.stderr):  # piped into `tee`, lines still show as they happen
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    quiet_numerics()
    try:
        run(argv)
    except PolyuniError as error:
        print(f"polyuni: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:
        # a bare Ctrl-C has no message (an exception is always true: test its text)
        print(f"polyuni: {str(interrupt) or 'interrupted; nothing half-written was kept'}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # output piped into `head`: not an error
        return 0
    except Exception as error:  # a bug: say so in one line, and how to see the traceback
        if os.environ.get("POLYUNI_DEBUG"):
            raise
        if reason := _environment_error(error):
            print(f"polyuni: error: {reason}", file=sys.stderr)
            return 1
        print(f"polyuni: internal error: {type(error).__name__}: {error} "
              "(set POLYUNI_DEBUG=1 for the traceback)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
