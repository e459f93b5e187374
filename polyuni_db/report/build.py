"""Gather the report's tables and figures from the database, and render them with Jinja."""
from __future__ import annotations

import math
import os
import re
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from polyuni_db.report import figures, queries
from polyuni_db.report.queries import Table, run
from polyuni_db.resources import resource_folder
from polyuni_db.runs.tracking import describe_experiment, tracking_uri
from polyuni_db.sources.base import Progress, no_progress
from polyuni_db.sources.corpora import MINIMAL_CORPORA, corpus_names, load_corpus
from polyuni_db.sources.pretrained import DEFAULT_LABELS, GOOGLE_NEWS
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, connect, require_current_schema
from polyuni_db.study import DEFAULT_PRESET, preset_path

TEMPLATES = resource_folder("templates")
STUDY_CORPUS = "corpus_4"  # the published Figures 1 to 3
FIGURE_CACHE = ".figure-cache"  # beside index.html: figures whose data did not change are not drawn again
# Models of the published study that a page can lack, and how to add each.
STUDY_MODELS = {DEFAULT_LABELS[GOOGLE_NEWS]: {
    "name": "Google News word2vec", "size": "300 dimensions, 3,000,000 words; a 1.6 GB download",
    "command": "polyuni study --with-google-news"}}
WORD_CHARACTERS = re.compile(r"^\w+(?:['’-]\w+)*$")


def cell(value) -> str:
    """How a value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value == 0:  # -0.0 too: a zero has no sign
            return "0"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2e}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{1 if abs(value) >= 10 else 3}f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(item) for item in value)
    return str(value)


def tokens(words) -> str:
    """A list of words for a cell, each token that is not a plain word (",", "P.S.", "``") quoted, so
    that punctuation cannot be read as the separator."""
    return ", ".join(word if WORD_CHARACTERS.match(word) else f"“{word}”" for word in words or ())


def _corpus_order(corpus: str, words: list[str]) -> list[str]:
    """The words in the order they first occur in the corpus (the study's figures list them so)."""
    if corpus not in MINIMAL_CORPORA:
        return words
    first = {}
    for sentence in load_corpus(corpus).sentences:
        for token in sentence:
            first.setdefault(token, len(first))
    return sorted(words, key=lambda word: first.get(word, len(first)))


def _minimal_models(connection) -> dict[str, dict]:
    """Per minimal corpus and dimension: the published model's superposition grid beside the trained
    variant's (first seed), the pairwise geometry of the published runs, and their mean angle."""
    vectors = run(connection, queries.SMALL_VECTORS)
    by_run: dict[tuple, dict] = defaultdict(dict)
    for row in vectors.dicts():
        key = (row["corpus"], row["dim"], row["variant"], row["label"])
        by_run[key].setdefault(row["word"], {})[row["dimension"]] = row["value"]
    corpora: dict[str, dict] = {}
    matrices = {}
    for (corpus, dim, variant, label), coordinates in sorted(by_run.items()):
        words = _corpus_order(corpus, list(coordinates))
        matrices[corpus, dim, variant, label] = words, np.array([[coordinates[word][d] for d in range(dim)] for word in words])
    # the published run and its trained variant are compared: one axis range for both
    reach: dict[tuple, float] = defaultdict(float)
    for (corpus, dim, _, _), (_, matrix) in matrices.items():
        reach[corpus, dim] = max(reach[corpus, dim], float(np.abs(matrix).max()))
    for (corpus, dim, variant, label), (words, matrix) in matrices.items():
        entry = corpora.setdefault(corpus, {"corpus": corpus, "dims": {}, "sql": vectors.sql})
        # the published Figures 1 to 3 are corpus_4 at 2, 3 and 4 dimensions
        title = f"Figure {dim - 1}" if corpus == STUDY_CORPUS and variant == "published" and dim in (2, 3, 4) else None
        entry["dims"].setdefault(dim, {"dim": dim, "published": None, "trained": None})[variant] = {
            "label": label, "dim": dim, "words": words, "title": title,
            "figure": figures.superposition_grid(words, matrix, title, reach[corpus, dim], title is not None),
        }
    for corpus, entry in corpora.items():
        by_dim = entry.pop("dims")
        entry["models"] = [by_dim[dim] for dim in sorted(by_dim)]
        entry["geometry"] = run(connection, queries.PAIR_GEOMETRY, corpus)
        entry["angles"] = run(connection, queries.AVERAGE_ANGLE, corpus)
    order = list(MINIMAL_CORPORA)
    return dict(sorted(corpora.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def _toy_training(connection) -> dict:
    """Approach 1's question done right: did the toy models train, and is their superposition shared
    across seeds? Every number is read from the views."""
    superposition = run(connection, queries.SUPERPOSITION)
    order = list(MINIMAL_CORPORA)
    runs = sorted(superposition.dicts(), key=lambda r: (order.index(r["corpus"]) if r["corpus"] in order else 99, r["dim"]))
    trained_corpora = {r["corpus"] for r in runs if r["variant"] == "trained"}
    change = run(connection, queries.TRAINING_CHANGE)
    by_variant = {row["variant"]: row for row in change.dicts()}
    return {
        "change": change,
        "published": by_variant.get("published"),
        "trained": by_variant.get("trained"),
        "dimensionality_figure": figures.dimensionality_by_dims([r for r in runs if r["corpus"] in trained_corpora])
        if trained_corpora else None,
        "superposition_sql": superposition.sql,
        "superposition_summary": run(connection, queries.SUPERPOSITION_SUMMARY),
        "interference_summary": run(connection, queries.INTERFERENCE_SUMMARY),
        "pair_interference": run(connection, queries.PAIR_INTERFERENCE),
        "interference": run(connection, queries.INTERFERENCE_FINDINGS).dicts()[0],
        "interference_sql": queries.INTERFERENCE_FINDINGS,
    }


def _differences(table: Table) -> list[dict]:
    named = set(corpus_names())
    pairs: dict[tuple, dict] = {}
    for row in table.dicts():
        pair = pairs.setdefault((row["word_a"], row["word_b"]), {
            "word_a": row["word_a"], "word_b": row["word_b"], "models": [], "missing": [], "case_only": [],
            "case_variants": set(), "case_corpora": set(), "case_missing": set()})
        if row["status"] == "computed":
            pair["models"].append({"label": row["label"], "neighbours": list(zip(row["neighbours"], row["similarities"]))})
        else:
            variants = row["case_variants"] or []
            missing = (row["missing_words"] or "").split(", ")
            case_only = bool(variants) and {word.lower() for word in variants} >= {word.lower() for word in missing}
            pair["missing"].append({"label": row["label"], "why": row["missing_words"] or row["status"],
                                    "variants": variants})
            if case_only:  # the run has the word, capitalised differently: a case-sensitive corpus
                pair["case_only"].append(row["label"])
                pair["case_variants"].update(variants)
                pair["case_missing"].update(missing)
                if row["corpus"]:
                    pair["case_corpora"].add(row["corpus"])
    for pair in pairs.values():
        pair["ranks"] = max((len(m["neighbours"]) for m in pair["models"]), default=0)
        for key in ("case_variants", "case_corpora", "case_missing"):
            pair[key] = sorted(pair[key])
        # a corpus by name can be named in the command; a text file is the user's own path
        pair["case_commands"] = [f"polyuni ingest train --corpus {corpus if corpus in named else 'FILE'} --lowercase"
                                 for corpus in pair["case_corpora"] or ["FILE"]]
    return list(pairs.values())


def _first_dimensions(table: Table) -> dict:
    labels = sorted({row["label"] for row in table.dicts()})
    grid: dict[int, dict] = defaultdict(dict)
    for row in table.dicts():
        grid[row["dimension"]][row["label"]] = row["word"]
    return {"labels": labels, "rows": [(d, [grid[d].get(label, "") for label in labels]) for d in sorted(grid)],
            "sql": table.sql}


def _symmetric(labels: list[str], cells: list[tuple[str, str, float]]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    values = np.full((len(labels), len(labels)), np.nan)
    for label_a, label_b, value in cells:
        values[index[label_a], index[label_b]] = values[index[label_b], index[label_a]] = np.nan if value is None else value
    return values


# A table on the page lists at most this many rows (the default study's longest has 1,492), and says
# how many more its SQL returns: at 1,000 runs the pairs alone made a 111 MB page.
MAX_TABLE_ROWS = 2_000
# A matrix of every pair is legible up to this many runs (0.36 inch a cell), and a block per run
# readable; past it the page keeps the summaries by contrast and the first runs' blocks, and the views
# keep every pair (at 1,000 runs the matrix was a 32,878-pixel image).
MAX_MATRIX_RUNS = 80


def _pair_heatmap(labels: list[str], cells: list[tuple], title: str, number_format: str, centred: bool = False):
    """The heatmap of every pair of ``labels``, or None past ``MAX_MATRIX_RUNS`` runs."""
    if len(labels) > MAX_MATRIX_RUNS:
        return None
    return figures.heatmap(labels, _symmetric(labels, cells), title, number_format, centred)


def _overlap_heatmap(overlap: Table) -> dict | None:
    """The headline table as a matrix against its baseline: words in common minus the random-axes
    mean, runs over 1,000 words only (minimal models would fill it); pairs without the baseline empty."""
    cells = [(row["Model 1"], row["Model 2"], None if row["random axes"] is None
              else row["# Words in Common"] - row["random axes"]) for row in overlap.dicts()]
    labels = sorted({label for cell in cells for label in cell[:2]})
    if len(labels) < 2:
        return None
    drawing = _pair_heatmap(labels, cells, "words in common − random axes' mean (0: what any axes give)", "{:.0f}", True)
    return None if drawing is None else {"uri": drawing}


def _missing_models(labels: list[str], unavailable: Table) -> list[dict]:
    """The study's models that this page lacks, with why: every table that would show them says so."""
    reasons = {row["label"]: row["reason"] for row in unavailable.dicts()}
    return [{"label": label, **model, "why": reasons.get(label, "not requested")}
            for label, model in STUDY_MODELS.items() if label not in labels]


def _controls(connection) -> dict:
    """The section that separates learned structure from the basis and from untrained vectors."""
    similarity = run(connection, queries.SIMILARITY_MATRIX)
    if not similarity.rows:  # the section only says how to compare: its queries would hold the file for nothing
        return {"compared": False, "findings": {}}
    heatmaps = []
    labels = sorted({row[0] for row in similarity.rows} | {row[1] for row in similarity.rows})
    for metric, title in (("mutual_knn", "mutual k-NN effect size"), ("linear_cka", "linear CKA effect size")):
        cells = [(a, b, value) for a, b, name, value in similarity.rows if name.startswith(metric)]
        if cells and (drawing := _pair_heatmap(labels, cells, title, "{:.2f}")) is not None:
            heatmaps.append({"title": title, "uri": drawing})
    return {
        "compared": True,
        "similarity_sql": similarity.sql,
        "heatmaps": heatmaps,
        "matrix_runs": len(labels),
        "rotation": run(connection, queries.ROTATION_CONTROL),
        "rotation_null": run(connection, queries.ROTATION_NULL),
        "sweep": run(connection, queries.SWEEP),
        "attribution": run(connection, queries.ATTRIBUTION),
        "frequency": run(connection, queries.FREQUENCY),
        "filtered": run(connection, queries.FILTERED),
        "findings": run(connection, queries.FINDINGS).dicts()[0],
        "findings_sql": queries.FINDINGS,
    }


METRIC_TITLES = {"linear_cka": "linear CKA", "mutual_knn_10": "mutual 10-NN", "procrustes_overlap_5": "Procrustes overlap"}


def _families(connection) -> dict:
    """Data or algorithm? Every comparison of trained runs by which factors differ."""
    effects = run(connection, queries.FAMILY_EFFECTS)
    if not effects.rows:  # the section only says how to compare
        return {"compared": False, "findings": {}}
    panels: dict[str, dict[str, list[float]]] = {}
    for contrast, metric, effect in effects.rows:
        panels.setdefault(METRIC_TITLES.get(metric, metric), {}).setdefault(contrast, []).append(effect)
    matrix = run(connection, queries.FAMILY_MATRIX)
    order = {}
    for a, b, _, corpus_a, algorithm_a, corpus_b, algorithm_b in matrix.rows:
        order[a], order[b] = (corpus_a, algorithm_a, a), (corpus_b, algorithm_b, b)
    labels = sorted(order, key=order.get)
    title = "mutual k-NN effect size"
    return {
        "compared": True,
        "contrasts": run(connection, queries.FAMILY_CONTRASTS),
        "axis": run(connection, queries.FAMILY_AXIS),
        "distribution": figures.panels_of_distributions(panels, "effect size (0 = null mean, 1 = seed pairs)"),
        "distribution_sql": effects.sql,
        "heatmap": _pair_heatmap(labels, [row[:3] for row in matrix.rows], title, "{:.2f}") if labels else None,
        "heatmap_sql": matrix.sql,
        "matrix_runs": len(labels),
        "findings": run(connection, queries.FAMILY_FINDINGS).dicts()[0],
        "findings_sql": queries.FAMILY_FINDINGS,
    }


def _features(connection) -> dict:
    """The section on features without a basis: universality beside the seed ceiling and the null,
    matched features, the polysemanticity of dimensions and atoms per word against WordNet senses."""
    polysemanticity = run(connection, queries.DIMENSION_POLYSEMANTICITY)
    groups: dict[str, list] = defaultdict(list)
    for label, value in polysemanticity.rows:
        groups[label].append(value)
    by_senses = run(connection, queries.ATOMS_BY_SENSES)
    series: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    for label, senses, atoms, _ in by_senses.rows:
        series[label][0].append(senses)
        series[label][1].append(atoms)
    return {
        "sets": run(connection, queries.FEATURE_SETS),
        "universality": run(connection, queries.FEATURE_UNIVERSALITY),
        "shared_initialization": run(connection, queries.SHARED_INITIALIZATION).rows[0][0],
        "stability": run(connection, queries.FEATURE_STABILITY),
        "matched": run(connection, queries.MATCHED_FEATURES),
        "scores": run(connection, queries.FEATURE_SCORES),
        "polysemanticity": {"uri": figures.distributions(dict(groups), "atoms loading on a dimension (participation ratio)"),
                            "sql": polysemanticity.sql} if groups else None,
        "senses": {"uri": figures.lines(dict(series), "WordNet senses (12 = 12 or more)",
                                        "mean effective atoms per word"),
                   "sql": by_senses.sql} if series else None,
    }


def _planted(connection) -> dict:
    """Ground truth: pseudowords planted in a corpus, against their nulls and Arora et al.'s line."""
    points = run(connection, queries.PLANTED_POINTS)
    rows = points.dicts()
    figures_found = []
    if rows:
        planted = np.array([row["span_cosine"] for row in rows])
        null = np.array([row["null_span_cosine"] for row in rows])
        figures_found.append({
            "uri": figures.span_cosine_distribution(planted, null),
            "alt": "Histogram of span cosines of planted pseudowords against their null pairs",
            "caption": "How close v_ab lies to the span of v_a and v_b (blue), against the same fit on two random "
                       "words that were not merged (grey); every run with pseudowords pooled.",
        })
        by_label: dict[str, list] = defaultdict(list)
        for row in rows:
            by_label[row["label"]].append((row["lg_ratio"], row["beta"]))
        figures_found.append({
            "uri": figures.beta_against_ratio({label: tuple(np.array(column) for column in zip(*values))
                                               for label, values in by_label.items()}),
            "alt": "Scatter plot of beta against lg r with Arora et al.'s line",
            "caption": "The coefficient of the rarer word against the log frequency ratio of the pair, one colour "
                       "per run, beside Arora et al.'s line 1 - 0.5 lg r.",
        })
    return {
        "summary": run(connection, queries.PLANTED_SUMMARY),
        "figures": figures_found,
        "points_sql": points.sql,
        "instruments": run(connection, queries.PLANTED_INSTRUMENTS),
        "seeds": run(connection, queries.PLANTED_SEEDS),
        "words": run(connection, queries.PLANTED_WORDS),
    }


def _mlflow_run_page(db_path: Path) -> str | None:
    """Where a run's MLflow page is, less its id, when the tracking URI is a server (MLflow's UI
    redirects /#/runs/ID to the run's page); a database store has no page to link."""
    uri = tracking_uri(db_path)
    return f"{uri.rstrip('/')}/#/runs/" if uri.startswith(("http://", "https://")) else None


def gather(connection, db_path: Path) -> dict:
    """Everything the templates show, read from the views."""
    runs = run(connection, queries.RUNS)
    labels = [row["label"] for row in runs.dicts()]
    unavailable = run(connection, queries.UNAVAILABLE)
    dimension_words: dict[str, list] = defaultdict(list)
    dimension_table = run(connection, queries.DIMENSION_WORDS)
    for row in dimension_table.dicts():
        dimension_words[row["label"]].append(row)
    minimal = _minimal_models(connection)
    overlap = run(connection, queries.OVERLAP)
    verdict = run(connection, queries.VERDICT)
    return {
        "db_path": str(db_path),
        "mlflow_experiment": describe_experiment(db_path),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "verdict": verdict,
        "verdict_rows": {row["question"]: row for row in verdict.dicts()},
        "runs": runs,
        "runs_summary": run(connection, queries.RUNS_SUMMARY),
        "mlflow_run_page": _mlflow_run_page(db_path),
        "seed_sweeps": run(connection, queries.SEED_SWEEPS).dicts()[0],
        "unavailable": unavailable,
        "missing_models": _missing_models(labels, unavailable),
        "study_corpus": minimal.get(STUDY_CORPUS),
        "appendix_corpora": [entry for corpus, entry in minimal.items() if corpus != STUDY_CORPUS],
        "toy": _toy_training(connection),
        "differences": _differences(run(connection, queries.DIFFERENCES)),
        "differences_sql": queries.DIFFERENCES,
        "difference_agreement": run(connection, queries.DIFFERENCE_AGREEMENT),
        "difference_agreement_by_pair": run(connection, queries.DIFFERENCE_AGREEMENT_BY_PAIR),
        "dimension_words": dict(sorted(dimension_words.items())),
        "dimension_words_sql": dimension_table.sql,
        "first_dimensions": _first_dimensions(run(connection, queries.FIRST_DIMENSIONS)),
        "duplicates": run(connection, queries.DUPLICATES),
        "overlap": overlap,
        "overlap_by_contrast": run(connection, queries.OVERLAP_BY_CONTRAST),
        "overlap_reading": run(connection, queries.OVERLAP_READING).dicts()[0],
        "overlap_reading_sql": queries.OVERLAP_READING,
        "overlap_minimal": run(connection, queries.OVERLAP_MINIMAL),
        "heatmap": _overlap_heatmap(overlap),
        "settings": run(connection, queries.SETTINGS),
        "default_preset": preset_path(DEFAULT_PRESET).read_text(encoding="utf-8"),
        "controls": _controls(connection),
        "families": _families(connection),
        "planted": _planted(connection),
        "features": _features(connection),
    }


def _drawings(value):
    """Every figure still to draw in the context, however deep."""
    if isinstance(value, figures.Drawing):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _drawings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _drawings(item)


def render_report(db_path: Path, out_dir: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                  progress: Progress = no_progress, timings: dict | None = None) -> Path:
    """Write ``out_dir/index.html``, one self-contained page, and return its path.

    Reads on a read-only connection, closed before any figure is drawn: other readers and writers
    wait for the queries at most. Upgrades nothing: a file at another schema revision is an error
    that names `polyuni init`. ``timings``, when given, receives the seconds spent reading and
    drawing and how many figures were drawn rather than taken from the cache."""
    started = time.perf_counter()
    connection = connect(db_path, read_only=True, lock_timeout=lock_timeout)
    try:
        require_current_schema(connection, db_path)
        context = gather(connection, db_path)
    finally:
        connection.close()
    read = time.perf_counter()
    drawings = list(_drawings(context))
    drawn = figures.draw_all(drawings, out_dir / FIGURE_CACHE, progress)
    if timings is not None:
        timings.update(read_seconds=read - started, draw_seconds=time.perf_counter() - read,
                       figures=len(drawings), drawn=drawn)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["cell"] = cell
    environment.filters["tokens"] = tokens
    environment.globals.update(max_matrix_runs=MAX_MATRIX_RUNS, max_table_rows=MAX_TABLE_ROWS)
    html = environment.get_template("report.html.j2").render(**context)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    partial = path.with_suffix(".html.partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a page
    return path
