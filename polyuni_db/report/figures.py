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


def span_cosine_distribution(planted: np.ndarray, null: np.ndarray) -> str:
    """Histograms of the span cosine of planted pseudowords and of their null pairs, on shared bins."""
    figure = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = figure.add_subplot()
    low = float(min(planted.min(), null.min()))
    bins = np.linspace(min(low, 0.9), 1.0, 41)
    axes.hist(null, bins=bins, color="#b0b8c2", label=f"null: two random words (n = {null.size})")
    axes.hist(planted, bins=bins, color=PALETTE, alpha=0.85, label=f"planted a+b on [a, b] (n = {planted.size})")
    axes.set_xlabel("cosine between v_ab and its projection on the span", fontsize=9)
    axes.set_ylabel("pseudowords", fontsize=9)
    axes.legend(fontsize=8, loc="upper left")
    axes.tick_params(labelsize=8)
    return _data_uri(figure)


def beta_against_ratio(points: dict[str, tuple[np.ndarray, np.ndarray]], arora_c: float = 0.5) -> str:
    """β of the rarer word against lg r, one colour per run, with Arora et al.'s line β = 1 - c lg r."""
    figure = Figure(figsize=(6.4, 3.8), layout="constrained")
    axes = figure.add_subplot()
    colours = ("#1f5fa8", "#d9822b", "#2e8b57", "#8e44ad", "#7f8c8d")
    highest = 1.0
    for n, (label, (lg_ratio, beta)) in enumerate(points.items()):
        axes.scatter(lg_ratio, beta, s=14, color=colours[n % len(colours)], zorder=3, label=label)
        highest = max(highest, float(lg_ratio.max()))
    grid = np.linspace(0.0, highest * 1.05, 50)
    axes.plot(grid, 1 - arora_c * grid, color="#c0392b", linestyle="--", label=f"Arora et al. 2018: 1 - {arora_c} lg r")
    axes.axhline(0, color="#999", linewidth=0.6)
    axes.set_xlabel("lg r (r: count of the frequent word / count of the rare word)", fontsize=9)
    axes.set_ylabel("β (coefficient of the rarer word)", fontsize=9)
    axes.legend(fontsize=8)
    axes.tick_params(labelsize=8)
    return _data_uri(figure)
