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


def superposition_grid(words: list[str], vectors: np.ndarray) -> str:
    """One scatter plot per pair of dimensions (i < j), as in the published Figures 1 to 3: each word
    a labelled point, red axes through the origin."""
    dims = vectors.shape[1]
    pairs = list(itertools.combinations(range(dims), 2))
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    figure = Figure(figsize=(3.6 * columns, 3.4 * rows), layout="constrained")
    limit = float(np.abs(vectors).max()) * 1.35 or 1.0
    for n, (i, j) in enumerate(pairs):
        axes = figure.add_subplot(rows, columns, n + 1)
        axes.axhline(0, color="red", linewidth=0.9)
        axes.axvline(0, color="red", linewidth=0.9)
        axes.scatter(vectors[:, i], vectors[:, j], s=22, color=PALETTE, zorder=3)
        for word, x, y in zip(words, vectors[:, i], vectors[:, j]):
            axes.annotate(word, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=9)
        axes.set_xlim(-limit, limit)
        axes.set_ylim(-limit, limit)
        axes.set_aspect("equal")
        axes.set_title(f"{dims} dimensions: {i}, {j}", fontsize=10)
        axes.set_xlabel(f"dimension {i}", fontsize=8)
        axes.set_ylabel(f"dimension {j}", fontsize=8)
        axes.tick_params(labelsize=7)
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


def distributions(groups: dict[str, np.ndarray], xlabel: str) -> str:
    """One horizontal box plot per group (e.g. per model), the points over it."""
    labels = list(groups)
    figure = Figure(figsize=(7.0, 0.45 * len(labels) + 1.4), layout="constrained")
    axes = figure.add_subplot()
    axes.boxplot([groups[label] for label in labels], vert=False, widths=0.6, showfliers=False)
    for row, label in enumerate(labels, start=1):
        values = np.asarray(groups[label])
        axes.scatter(values, np.full(values.size, row), s=8, color=PALETTE, alpha=0.6, zorder=3)
    axes.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    axes.set_xlabel(xlabel, fontsize=9)
    return _data_uri(figure)


def lines(series: dict[str, tuple[np.ndarray, np.ndarray]], xlabel: str, ylabel: str) -> str:
    """One line per series (e.g. per model) over a shared x axis."""
    figure = Figure(figsize=(6.5, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for label, (x, y) in series.items():
        axes.plot(x, y, marker="o", markersize=3, linewidth=1.2, label=label)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.legend(fontsize=7)
    return _data_uri(figure)
