"""Figures as self-contained data URIs (SVG), drawn with matplotlib's object API (no pyplot state).

Every figure function returns a ``Drawing``: what to draw, not yet drawn. The report reads the
database, closes it, and only then draws (``draw_all``), so that a reader holds the file no longer
than its queries. A drawing is kept in a cache folder under its inputs' hash: a page re-rendered
after adding a run draws only the figures whose data changed.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import itertools
import math
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator

import matplotlib
import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from polyuni_db.sources.base import Progress, no_progress

PALETTE = "#1f5fa8"
_SOURCE = Path(__file__).read_bytes()  # a change to any drawing code invalidates every cached figure


class Drawing:
    """A figure to draw later; in a template it reads as its data URI once drawn."""

    def __init__(self, draw: Callable[..., str], args: tuple) -> None:
        self.draw, self.args, self.uri = draw, args, None

    @functools.cached_property
    def key(self) -> str:
        """The hash of everything the figure depends on: this module's code, the function, its inputs,
        matplotlib's version."""
        made_of = (_SOURCE, self.draw.__qualname__, self.args, matplotlib.__version__)
        return hashlib.sha256(pickle.dumps(made_of, protocol=5)).hexdigest()

    def __html__(self) -> str:
        if self.uri is None:
            raise RuntimeError(f"{self.draw.__qualname__} was not drawn: call draw_all first")
        return self.uri

    __str__ = __html__


def drawing(function: Callable[..., str]) -> Callable[..., Drawing]:
    """Make a figure function return a ``Drawing`` of its arguments instead of drawing at once. The
    function must stay reachable under its own name (``_name``) so that a worker process can run it."""

    @functools.wraps(function)
    def later(*args) -> Drawing:
        return Drawing(function, args)

    return later


def draw_all(drawings: Iterable[Drawing], cache: Path | None = None, progress: Progress = no_progress) -> int:
    """Draw every drawing, taking those drawn before from ``cache`` (a folder; entries no drawing
    uses any more are removed). Returns how many were drawn rather than read from the cache."""
    drawings = list(drawings)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    to_draw = []
    for figure in drawings:
        kept = cache / f"{figure.key}.uri" if cache is not None else None
        if kept is not None and kept.exists():
            figure.uri = kept.read_text(encoding="ascii")
        else:
            to_draw.append(figure)
    done = len(drawings) - len(to_draw)
    progress(done, len(drawings), "drawing figures")
    for figure, uri in zip(to_draw, _draw_in_parallel(to_draw)):
        figure.uri = uri
        done += 1
        progress(done, len(drawings), "drawing figures")
        if cache is not None:
            kept = cache / f"{figure.key}.uri"
            kept.with_suffix(".partial").write_text(uri, encoding="ascii")
            kept.with_suffix(".partial").replace(kept)
    if cache is not None:
        used = {f"{figure.key}.uri" for figure in drawings}
        for entry in cache.glob("*.uri"):
            if entry.name not in used:
                entry.unlink()
    return len(to_draw)


def _draw_in_parallel(drawings: list[Drawing]) -> Iterator[str]:
    """Each drawing's URI, in order: on every core where there are several (forked workers, so that
    matplotlib is not imported again), in this process otherwise."""
    workers = min(len(drawings), os.cpu_count() or 1)
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield from (figure.draw(*figure.args) for figure in drawings)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_draw, [(figure.draw, figure.args) for figure in drawings])


def _draw(job: tuple[Callable[..., str], tuple]) -> str:
    draw, args = job
    return draw(*args)


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none"}):  # text stays text: smaller, sharp, searchable
        figure.savefig(buffer, format="svg")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


LABEL_FONT = 9  # points
# The page's content column at 1,366 px is 1,246 px (12.98 inches at 96 px an inch): a wider figure
# would be shown scaled down, its text below the size it was drawn at.
PAGE_INCHES = 12.9
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


def _superposition_grid(words: list[str], vectors: np.ndarray, title: str | None = None,
                        reach: float | None = None, one_row: bool = False) -> str:
    """One scatter plot per pair of dimensions (i < j), as in the published Figures 1 to 3: each word
    a labelled point, red axes through the origin; labels placed so that they do not overlap. Every
    plot spans ±``reach`` (default: the largest coordinate) and a margin, so that figures compared
    side by side share their axis range. ``one_row``: every plot in one row across the page (three
    columns otherwise)."""
    dims = vectors.shape[1]
    pairs = list(itertools.combinations(range(dims), 2))
    columns = len(pairs) if one_row else min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    width = min(2.7, PAGE_INCHES / columns)  # a plot's share of the figure, in inches
    figure = Figure(figsize=(width * columns, (width - 0.1) * rows + (0.4 if title else 0)), layout="constrained")
    if title:
        figure.suptitle(title, fontsize=12, fontweight="bold")
    limit = (reach or float(np.abs(vectors).max())) * 1.35 or 1.0
    points_per_unit = (width - 0.6) * 72 / (2 * limit)  # the axes span the plot but its labels, across 2 * limit
    # the same few ticks on every plot, laid out once: tick layout is half of the drawing time
    ticks = MaxNLocator(nbins=4, symmetric=True).tick_values(-limit, limit)
    ticks = ticks[np.abs(ticks) <= limit]
    tick_labels = [f"{tick:.2g}" for tick in ticks]
    for n, (i, j) in enumerate(pairs):
        axes = figure.add_subplot(rows, columns, n + 1)
        axes.axhline(0, color="red", linewidth=0.9)
        axes.axvline(0, color="red", linewidth=0.9)
        axes.scatter(vectors[:, i], vectors[:, j], s=22, color=PALETTE, zorder=3)
        _label_points(axes, words, vectors[:, i], vectors[:, j], points_per_unit)
        axes.set_xticks(ticks, tick_labels)
        axes.set_yticks(ticks, tick_labels)
        axes.set_xlim(-limit, limit)
        axes.set_ylim(-limit, limit)
        axes.set_aspect("equal")
        axes.set_title(f"{dims} dimensions: {i}, {j}", fontsize=10)
        axes.set_xlabel(f"dimension {i}", fontsize=8)
        axes.set_ylabel(f"dimension {j}", fontsize=8)
        axes.tick_params(labelsize=7)
    return _data_uri(figure)


def _dimensionality_by_dims(runs: list[dict]) -> str:
    """Per corpus, the mean feature dimensionality (unit vectors) of each run against its dimensions:
    trained seeds as dots with their mean as a line, the published runs as open circles, and the
    dimensions per word (the value if the words shared the space evenly) dashed."""
    corpora = list(dict.fromkeys(run["corpus"] for run in runs))
    figure = Figure(figsize=(min(2.9 * len(corpora), PAGE_INCHES), 3.2), layout="constrained")
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


def _heatmap(labels: list[str], values: np.ndarray, colorbar_label: str, number_format: str = "{:.0f}",
             centred: bool = False) -> str:
    """A symmetric matrix over runs; the diagonal and missing (NaN) cells are left empty. Sized to its
    content: a cell is large enough for its number (7 pt at the least: 9 px as shown), whatever the
    number of runs. ``centred``: a diverging scale with 0 (the baseline) white."""
    cell = 0.5 if len(labels) <= 16 else 0.36
    longest = max((len(label) for label in labels), default=1) * 0.075  # inches for the tick labels
    side = cell * len(labels)
    figure = Figure(figsize=(side + longest + 1.6, side + longest + 0.4), layout="constrained")
    axes = figure.add_subplot()
    shown = np.ma.masked_where(np.eye(len(labels), dtype=bool) | np.isnan(values), values)
    finite = np.isfinite(values).any()
    if centred:
        reach = float(np.nanmax(np.abs(values))) if finite else 1.0
        image = axes.imshow(shown, cmap="RdBu_r", vmin=-(reach or 1.0), vmax=reach or 1.0)
    else:
        image = axes.imshow(shown, cmap="Blues", vmin=min(0.0, float(np.nanmin(values)) if finite else 0.0))
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=9)
    axes.set_yticks(range(len(labels)), labels, fontsize=9)
    top = np.nanmax(np.abs(values) if centred else values) if finite else 1
    for (row, column), value in np.ndenumerate(values):
        if row != column and np.isfinite(value):
            strong = (abs(value) if centred else value) > top * 0.6
            axes.text(column, row, _no_minus_zero(number_format.format(value)), ha="center", va="center",
                      fontsize=9 if len(labels) <= 16 else 7, color="white" if strong else "#222")
    figure.colorbar(image, ax=axes, shrink=0.8, label=colorbar_label)
    return _data_uri(figure)


def _no_minus_zero(text: str) -> str:
    """"-0" and "-0.00" read as 0: a value that rounds to zero has no sign."""
    return text.lstrip("-") if text.startswith("-") and not text.strip("-0.") else text


def _panels_of_distributions(panels: dict[str, dict[str, list[float]]], value_label: str) -> str:
    """One panel per metric: per group (contrast) a box plot of its values with every value drawn as
    a point beside it (jittered from a fixed seed, so the page is the same every time)."""
    figure = Figure(figsize=(4.2 * len(panels), 0.55 * max(len(g) for g in panels.values()) + 1.6),
                    layout="constrained")
    jitter = np.random.default_rng(0)
    for n, (title, groups) in enumerate(panels.items()):
        axes = figure.add_subplot(1, len(panels), n + 1)
        names = list(groups)
        positions = np.arange(len(names))[::-1]  # first group on top
        axes.boxplot([groups[name] for name in names], positions=positions, vert=False, widths=0.5,
                     showfliers=False, medianprops={"color": PALETTE})
        for position, name in zip(positions, names):
            values = np.asarray(groups[name], dtype=float)
            axes.scatter(values, position + jitter.uniform(-0.18, 0.18, values.size), s=9, alpha=0.55,
                         color=PALETTE, zorder=3)
        axes.axvline(0, color="#888", linewidth=0.8, linestyle="--")
        axes.axvline(1, color="#888", linewidth=0.8, linestyle=":")
        axes.set_yticks(positions, names if n == 0 else [""] * len(names), fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel(value_label, fontsize=8)
        axes.tick_params(labelsize=7)
    return _data_uri(figure)


def _span_cosine_distribution(planted: np.ndarray, null: np.ndarray) -> str:
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


def _beta_against_ratio(points: dict[str, tuple[np.ndarray, np.ndarray]], arora_c: float = 0.5) -> str:
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


def _distributions(groups: dict[str, np.ndarray], xlabel: str) -> str:
    """One horizontal box plot per group (e.g. per model), the points over it."""
    labels = list(groups)
    figure = Figure(figsize=(6.4, 0.45 * len(labels) + 1.4), layout="constrained")
    axes = figure.add_subplot()
    axes.boxplot([groups[label] for label in labels], vert=False, widths=0.6, showfliers=False)
    for row, label in enumerate(labels, start=1):
        values = np.asarray(groups[label])
        axes.scatter(values, np.full(values.size, row), s=8, color=PALETTE, alpha=0.6, zorder=3)
    axes.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    axes.set_xlabel(xlabel, fontsize=9)
    return _data_uri(figure)


def _lines(series: dict[str, tuple[np.ndarray, np.ndarray]], xlabel: str, ylabel: str) -> str:
    """One line per series (e.g. per model) over a shared x axis."""
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for label, (x, y) in series.items():
        axes.plot(x, y, marker="o", markersize=3, linewidth=1.2, label=label)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.legend(fontsize=7)
    return _data_uri(figure)


superposition_grid = drawing(_superposition_grid)
heatmap = drawing(_heatmap)
dimensionality_by_dims = drawing(_dimensionality_by_dims)
panels_of_distributions = drawing(_panels_of_distributions)
span_cosine_distribution = drawing(_span_cosine_distribution)
beta_against_ratio = drawing(_beta_against_ratio)
distributions = drawing(_distributions)
lines = drawing(_lines)
