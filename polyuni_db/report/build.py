"""Gather the report's tables and figures from the database, and render them with Jinja."""
from __future__ import annotations

import math
import os
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from polyuni_db.report import figures, queries
from polyuni_db.report.queries import Table, run
from polyuni_db.sources.corpora import MINIMAL_CORPORA
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, connect
from polyuni_db.store.read import init

TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"
STUDY_CORPUS = "corpus_4"  # the published Figures 1 to 3


def cell(value) -> str:
    """How a value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
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


def _minimal_models(connection) -> dict[str, dict]:
    """Per minimal corpus: a superposition grid per model, the pairwise geometry, the mean angle."""
    vectors = run(connection, queries.SMALL_VECTORS)
    by_run: dict[tuple, dict] = defaultdict(dict)
    for row in vectors.dicts():
        by_run[(row["corpus"], row["dim"], row["label"])].setdefault(row["word"], {})[row["dimension"]] = row["value"]
    corpora: dict[str, dict] = {}
    for (corpus, dim, label), coordinates in sorted(by_run.items(), key=lambda item: (item[0][0], item[0][1])):
        words = list(coordinates)
        matrix = np.array([[coordinates[word][d] for d in range(dim)] for word in words])
        entry = corpora.setdefault(corpus, {"corpus": corpus, "models": [], "sql": vectors.sql})
        entry["models"].append({
            "label": label, "dim": dim, "words": words,
            "figure": figures.superposition_grid(words, matrix),
        })
    for corpus, entry in corpora.items():
        entry["geometry"] = run(connection, queries.PAIR_GEOMETRY, corpus)
        entry["angles"] = run(connection, queries.AVERAGE_ANGLE, corpus)
    order = list(MINIMAL_CORPORA)
    return dict(sorted(corpora.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def _differences(table: Table) -> list[dict]:
    pairs: dict[tuple, dict] = {}
    for row in table.dicts():
        pair = pairs.setdefault((row["word_a"], row["word_b"]), {
            "word_a": row["word_a"], "word_b": row["word_b"], "models": [], "missing": []})
        if row["status"] == "computed":
            pair["models"].append({"label": row["label"], "neighbours": list(zip(row["neighbours"], row["similarities"]))})
        else:
            pair["missing"].append({"label": row["label"], "why": row["missing_words"] or row["status"]})
    for pair in pairs.values():
        pair["ranks"] = max((len(m["neighbours"]) for m in pair["models"]), default=0)
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


def _overlap_heatmap(connection, labels: list[str]) -> dict | None:
    table = run(connection, queries.OVERLAP_MATRIX)
    if len(labels) < 2:
        return None
    counts = np.nan_to_num(_symmetric(labels, table.rows))
    return {"uri": figures.heatmap(labels, counts, "dimension words in common"), "sql": table.sql}


def _controls(connection) -> dict:
    """The section that separates learned structure from the basis and from untrained vectors."""
    similarity = run(connection, queries.SIMILARITY_MATRIX)
    heatmaps = []
    labels = sorted({row[0] for row in similarity.rows} | {row[1] for row in similarity.rows})
    for metric, title in (("mutual_knn", "calibrated mutual k-NN (z)"), ("linear_cka", "calibrated linear CKA (z)")):
        cells = [(a, b, value) for a, b, name, value in similarity.rows if name.startswith(metric)]
        if cells:
            heatmaps.append({"title": title, "uri": figures.heatmap(labels, _symmetric(labels, cells), title, "{:.0f}")})
    findings = run(connection, queries.FINDINGS).dicts()[0]
    return {
        "compared": bool(similarity.rows),
        "similarity_sql": similarity.sql,
        "heatmaps": heatmaps,
        "rotation": run(connection, queries.ROTATION_CONTROL),
        "rotation_null": run(connection, queries.ROTATION_NULL),
        "sweep": run(connection, queries.SWEEP),
        "attribution": run(connection, queries.ATTRIBUTION),
        "frequency": run(connection, queries.FREQUENCY),
        "filtered": run(connection, queries.FILTERED),
        "findings": findings,
        "findings_sql": queries.FINDINGS,
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
        "stability": run(connection, queries.FEATURE_STABILITY),
        "matched": run(connection, queries.MATCHED_FEATURES),
        "scores": run(connection, queries.FEATURE_SCORES),
        "polysemanticity": {"uri": figures.distributions(dict(groups), "atoms loading on a dimension (participation ratio)"),
                            "sql": polysemanticity.sql} if groups else None,
        "senses": {"uri": figures.lines(dict(series), "WordNet senses (12 = 12 or more)",
                                        "mean effective atoms per word"),
                   "sql": by_senses.sql} if series else None,
    }


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
    return {
        "db_path": str(db_path),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": runs,
        "unavailable": unavailable,
        "google_news_absent": "google_news" not in labels
        and "google_news" not in {row["label"] for row in unavailable.dicts()},
        "study_corpus": minimal.get(STUDY_CORPUS),
        "appendix_corpora": [entry for corpus, entry in minimal.items() if corpus != STUDY_CORPUS],
        "differences": _differences(run(connection, queries.DIFFERENCES)),
        "differences_sql": queries.DIFFERENCES,
        "dimension_words": dict(sorted(dimension_words.items())),
        "dimension_words_sql": dimension_table.sql,
        "first_dimensions": _first_dimensions(run(connection, queries.FIRST_DIMENSIONS)),
        "duplicates": run(connection, queries.DUPLICATES),
        "overlap": run(connection, queries.OVERLAP),
        "heatmap": _overlap_heatmap(connection, sorted(labels)),
        "settings": run(connection, queries.SETTINGS),
        "controls": _controls(connection),
        "features": _features(connection),
    }


def render_report(db_path: Path, out_dir: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Path:
    """Write ``out_dir/index.html``, one self-contained page, and return its path."""
    if db_path.exists():
        init(db_path, lock_timeout)  # a file from an older version gets the views the page reads
    connection = connect(db_path, read_only=True, lock_timeout=lock_timeout)
    try:
        context = gather(connection, db_path)
    finally:
        connection.close()
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["cell"] = cell
    html = environment.get_template("report.html.j2").render(**context)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    partial = path.with_suffix(".html.partial")
    partial.write_text(html, encoding="utf-8")
    os.replace(partial, path)  # a reader never sees half a page
    return path
