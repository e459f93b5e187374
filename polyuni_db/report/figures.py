"""Figures as self-contained data URIs (SVG), drawn with matplotlib's object API (no pyplot state)."""
from __future__ import annotations

import base64
import io
import itertools
import math

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

PALETTE = "#1f5fa8"


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, sharp, searchable
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


LABEL_FONT = 9  # points
# Where a point's label may go, tried in order: (dx, dy) in points from the point, and the alignment.
_LABEL_SPOTS = [(4, 3, "left"), (4, -11, "left"), (-4, 3, "right"), (-4, -11, "right"),
                (4, 13, "left"), (4, -21, "left"), (-4, 13, "right"), (-4, -21, "right"),
                (4, 23, "left"), (4, -31, "left"), (-4, 23, "right"), (-4, -31, "right")]


def _label_points(axes, words: list[str], xs: np.ndarray, ys: np.ndarray, points_per_unit: float) -> None:
    """Label each point where its text overlaps no marker and no label placed before it (greedy, in
    word order): the box of a label is estimated from its length, in points."""
    marker = 3.0  # half the width of a marker, in points
    placed = [(x * points_per_unit - marker, y * points_per_unit - marker,
               x * points_per_unit + marker, y * points_per_unit + marker) for x, y in zip(xs, ys)]
    for word, x, y in zip(words, xs, ys):
        width, height = 0.6 * LABEL_FONT * len(word), LABEL_FONT
        px, py = x * points_per_unit, y * points_per_unit
        for dx, dy, align in _LABEL_SPOTS:
            left = px + dx if align == "left" else px + dx - width
            box = (left, py + dy, left + width, py + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        else:  # every spot taken: the first one, as before
            dx, dy, align = _LABEL_SPOTS[0]
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
        placed.append(box)
        far = abs(dy) > 12  # beyond the four spots next to the point: a thin line says whose label it is
        axes.annotate(word, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=LABEL_FONT, ha=align,
                      arrowprops={"arrowstyle": "-", "linewidth": 0.4, "color": "#999", "shrinkA": 0, "shrinkB": 2}
                      if far else None)


def superposition_grid(words: list[str], vectors: np.ndarray, title: str | None = None) -> str:
    """One scatter plot per pair of dimensions (i < j), as in the published Figures 1 to 3: each word
    a labelled point, red axes through the origin; labels placed so that they do not overlap."""
    dims = vectors.shape[1]
    pairs = list(itertools.combinations(range(dims), 2))
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    figure = Figure(figsize=(3.6 * columns, 3.4 * rows + (0.3 if title else 0)), layout="constrained")
    if title:
        figure.suptitle(title, fontsize=12, fontweight="bold")
    limit = float(np.abs(vectors).max()) * 1.35 or 1.0
    points_per_unit = 3.0 * 72 / (2 * limit)  # about 3 inches of axes across 2 * limit
    for n, (i, j) in enumerate(pairs):
        axes = figure.add_subplot(rows, columns, n + 1)
        axes.axhline(0, color="red", linewidth=0.9)
        axes.axvline(0, color="red", linewidth=0.9)
        axes.scatter(vectors[:, i], vectors[:, j], s=22, color=PALETTE, zorder=3)
        _label_points(axes, words, vectors[:, i], vectors[:, j], points_per_unit)
        axes.set_xlim(-limit, limit)
        axes.set_ylim(-limit, limit)
        axes.set_aspect("equal")
        axes.set_title(f"{dims} dimensions: {i}, {j}", fontsize=10)
        axes.set_xlabel(f"dimension {i}", fontsize=8)
        axes.set_ylabel(f"dimension {j}", fontsize=8)
        axes.tick_params(labelsize=7)
    return _data_uri(figure)


def dimensionality_by_dims(runs: list[dict]) -> str:
    """Per corpus, the mean feature dimensionality (unit vectors) of each run against its dimensions:
    trained seeds as dots with their mean as a line, the published runs as open circles, and the
    dimensions per word (the value if the words shared the space evenly) dashed."""
    corpora = list(dict.fromkeys(run["corpus"] for run in runs))
    figure = Figure(figsize=(2.9 * len(corpora), 3.2), layout="constrained")
    jitter = np.random.default_rng(0)  # a fixed spread of the seeds' dots, the same on every page
    for n, corpus in enumerate(corpora):
        axes = figure.add_subplot(1, len(corpora), n + 1, sharey=figure.axes[0] if n else None)
        mine = [run for run in runs if run["corpus"] == corpus]
        dims = sorted({run["dim"] for run in mine})
        trained = [run for run in mine if run["variant"] == "trained"]
        if trained:
            axes.scatter([run["dim"] + jitter.uniform(-0.12, 0.12) for run in trained],
                         [run["mean_dimensionality_unit"] for run in trained], s=9, alpha=0.45, color=PALETTE,
                         label="trained (each seed)")
            means = [np.mean([r["mean_dimensionality_unit"] for r in trained if r["dim"] == d]) for d in dims]
            axes.plot(dims, means, color=PALETTE, linewidth=1.5, label="trained (mean)")
        published = [run for run in mine if run["variant"] == "published"]
        axes.scatter([run["dim"] for run in published], [run["mean_dimensionality_unit"] for run in published],
                     s=36, facecolors="none", edgecolors="#888", label="published (random vectors)")
        per_word = {run["dim"]: run["dimensions_per_feature_unit"] for run in mine}
        axes.plot(dims, [per_word[d] for d in dims], "--", color="#d9822b", linewidth=1, label="dimensions per word")
        axes.set_title(corpus, fontsize=10)
        axes.set_xticks(dims)
        axes.set_xlabel("dimensions", fontsize=8)
        axes.tick_params(labelsize=7)
        if n == 0:
            axes.set_ylabel("mean feature dimensionality", fontsize=8)
    figure.axes[0].legend(fontsize=7, loc="best")
    return _data_uri(figure)


def heatmap(labels: list[str], values: np.ndarray, colorbar_label: str, number_format: str = "{:.0f}") -> str:
    """A symmetric matrix over runs; the diagonal and missing (NaN) cells are left empty."""
    size = max(4.0, 0.32 * len(labels) + 2.0)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    axes = figure.add_subplot()
    shown = np.ma.masked_where(np.eye(len(labels), dtype=bool) | np.isnan(values), values)
    image = axes.imshow(shown, cmap="Blues", vmin=min(0.0, float(np.nanmin(values)) if np.isfinite(values).any() else 0.0))
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    if len(labels) <= 40:
        top = np.nanmax(values) if np.isfinite(values).any() else 1
        for (row, column), value in np.ndenumerate(values):
            if row != column and np.isfinite(value):
                axes.text(column, row, number_format.format(value), ha="center", va="center", fontsize=6,
                          color="white" if value > top * 0.6 else "#222")
    figure.colorbar(image, ax=axes, shrink=0.7, label=colorbar_label)
    return _data_uri(figure)
