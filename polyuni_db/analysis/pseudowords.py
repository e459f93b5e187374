"""What a planted pseudoword ``a+b`` tells each instrument, as pure functions on numpy arrays.

The run trained on the transformed corpus is aligned to its reference (the same configuration on the
original corpus) by orthogonal Procrustes over their other shared words, so that v_ab can be set
beside v_a and v_b. Arora et al. (2018, TACL) find v_ab almost in the span of v_a and v_b, with
v_ab ≈ α v_a + β v_b, α ≈ 1 for the more frequent word and β ≈ 1 - c lg r falling with the
frequency ratio r. Each measure stands beside a null: two random other words in place of a and b.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.stats import spearmanr

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.features import atoms_used, decoder_cosines
from polyuni_db.analysis.neighbours import nearest
from polyuni_db.analysis.ranking import rankable, row_norms

ALIGN_MIN_COUNT = 5  # words seen this often in both runs anchor the alignment and the neighbour lists
SENSE_NEIGHBOURS = 10  # a sense is described by its word's 10 nearest neighbours in the reference
TOP_DIMENSIONS = 3  # the pseudoword's dimension words: the top words of its 3 most aligned axes
NULL_STREAM = 104_729  # null pairs come from their own random stream, never the planting's
# An atom of the planted run stands for the reference atom it is nearest to after alignment when their
# |decoder cosine| is at least this. In 50 dimensions the best |cosine| of a random unit vector with
# 300 random atoms is 0.42 on average and 0.55 at most over 300 draws (numpy simulation), so 0.7 asks
# for the same direction, not a lucky one. Brown's planted run matches all its 300 atoms above 0.7
# (median 0.986) after alignment (docs/findings.md).
ATOM_MATCH_COSINE = 0.7


class SpanFit(NamedTuple):
    span_cosine: float  # cosine between v and its least-squares projection on span(first, second)
    first: float  # coefficient of the first basis vector
    second: float


def align(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The orthogonal R minimising ||x R - y||_F (rows of x and y are the same words)."""
    rotation, _ = orthogonal_procrustes(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return rotation


def span_fit(v: np.ndarray, first: np.ndarray, second: np.ndarray) -> SpanFit:
    """Regress v on [first, second] by least squares: how close v lies to their span, and the weights."""
    basis = np.stack([first, second], axis=1).astype(np.float64)
    v = np.asarray(v, dtype=np.float64)
    coefficients, *_ = np.linalg.lstsq(basis, v, rcond=None)
    projection = basis @ coefficients
    denominator = np.linalg.norm(v) * np.linalg.norm(projection)
    cosine = float(v @ projection / denominator) if denominator > 0 else float("nan")
    return SpanFit(cosine, float(coefficients[0]), float(coefficients[1]))


def beta_trend(beta: np.ndarray, frequency_ratio: np.ndarray) -> tuple[float | None, float | None]:
    """Spearman's rho (and its p-value) of β against lg r; None with fewer than 3 finite pairs."""
    beta, ratio = np.asarray(beta, dtype=np.float64), np.asarray(frequency_ratio, dtype=np.float64)
    keep = np.isfinite(beta) & np.isfinite(ratio)
    if keep.sum() < 3 or np.ptp(beta[keep]) == 0 or np.ptp(ratio[keep]) == 0:
        return None, None
    found = spearmanr(beta[keep], np.log2(ratio[keep]))
    return float(found.statistic), float(found.pvalue)


def top_excluding(vectors: np.ndarray, norms: np.ndarray, queries: np.ndarray, k: int,
                  exclude: list[set[int]]) -> list[set[int]]:
    """For each query, the k rows most cosine-similar to it, leaving out the rows in its ``exclude``."""
    widest = max(len(rows) for rows in exclude)
    found = nearest(vectors, norms, queries, k + widest).indices
    return [set([int(i) for i in row if i not in banned][:k]) for row, banned in zip(found, exclude)]


def axis_words(vectors: np.ndarray, query: np.ndarray, k: int, n_axes: int = TOP_DIMENSIONS,
               found: dict | None = None) -> set[int]:
    """The query's dimension words: the top k rows of its ``n_axes`` most aligned axes, each at the
    pole its sign points to (cos(q, ±e_d) = ±q[d] / |q|). ``found``: ``dimension_words(vectors, k)``."""
    found = found or dimension_words(np.asarray(vectors, dtype=np.float32), k)
    axes = np.argsort(-np.abs(query), kind="stable")[:n_axes]
    rows: set[int] = set()
    for axis in axes:
        pole = "max" if query[axis] >= 0 else "min"
        rows.update(int(i) for i in found[pole].indices[axis])
    return rows


@dataclass(frozen=True)
class PlantedPair:
    """A pseudoword's rows: ``token`` in the transformed run, ``a`` and ``b`` in the reference."""

    token: int
    a: int
    b: int
    count_a: int
    count_b: int


@dataclass(frozen=True)
class Measured:
    n_aligned: int
    alignment_cosine: float  # mean cosine of the aligned words after the rotation: how alike the runs are
    fits: list[dict]  # one per pair: span cosine, alpha, beta, and the same for its null pair
    instruments: list[dict]  # one per pair ("pair": its position in the input) and instrument: sense hits, and the null's


def shared_anchor_rows(words: list[str], counts: np.ndarray, vectors: np.ndarray,
                       reference_index: dict[str, int], reference_counts: np.ndarray,
                       reference_vectors: np.ndarray, min_count: int = ALIGN_MIN_COUNT) -> tuple[np.ndarray, np.ndarray]:
    """Rows (in each run) of the words both runs have, seen ``min_count`` times or more in both and
    with a direction in both. The planted words are absent from the transformed run, so never here."""
    usable, reference_usable = rankable(row_norms(vectors)), rankable(row_norms(reference_vectors))
    pairs = [(i, reference_index[word]) for i, word in enumerate(words)
             if word in reference_index and counts[i] >= min_count and usable[i]
             and reference_counts[reference_index[word]] >= min_count and reference_usable[reference_index[word]]]
    rows = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return rows[:, 0], rows[:, 1]


def null_pairs(anchor_counts: np.ndarray, planted_counts: list[int], n: int, seed: int) -> list[tuple[int, int]]:
    """``n`` disjoint pairs of anchor positions drawn at random among words counted within the planted
    words' count range (all anchors if too few), the same for every run with these anchors."""
    low, high = min(planted_counts), max(planted_counts)
    candidates = np.flatnonzero((anchor_counts >= low) & (anchor_counts <= high))
    if candidates.size < 2 * n:
        candidates = np.arange(anchor_counts.size)
    drawn = np.random.default_rng([NULL_STREAM, seed]).choice(candidates, size=2 * n, replace=False)
    return [(int(drawn[2 * i]), int(drawn[2 * i + 1])) for i in range(n)]


def measure(vectors: np.ndarray, reference: np.ndarray, anchors: np.ndarray, reference_anchors: np.ndarray,
            anchor_counts: np.ndarray, planted: list[PlantedPair], null_seed: int,
            k: int = SENSE_NEIGHBOURS) -> Measured:
    """Span fit and instrument recovery for every planted pair, each beside its null pair.

    ``vectors``: the transformed run; ``reference``: its reference run; ``anchors`` and
    ``reference_anchors``: rows of the same shared words in each (see ``shared_anchor_rows``), with
    their counts. Neighbours and dimension words are taken among the anchors only, so that rare,
    barely trained words do not fill them.
    """
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    rotation = align(x[anchors], y[reference_anchors])
    aligned = x[anchors] @ rotation
    target = y[reference_anchors]
    alignment_cosine = float(np.mean(np.sum(aligned * target, axis=1)
                                     / (np.linalg.norm(aligned, axis=1) * np.linalg.norm(target, axis=1))))
    reference_words = target.astype(np.float32)  # the reference's anchor words, where neighbours are sought
    reference_norms = row_norms(reference_words)
    own_words = x[anchors].astype(np.float32)  # the transformed run's anchors, in its own basis
    own_axes = dimension_words(own_words, k)
    nulls = null_pairs(anchor_counts, [c for p in planted for c in (p.count_a, p.count_b)], len(planted), null_seed)

    fits, instruments = [], []
    for position, (pair, (c, d)) in enumerate(zip(planted, nulls)):
        u = x[pair.token] @ rotation  # v_ab in the reference's basis
        v_a, v_b, v_c, v_d = y[pair.a], y[pair.b], target[c], target[d]
        a_first = pair.count_a >= pair.count_b  # alpha belongs to the more frequent word
        fit = span_fit(u, v_a, v_b)
        null = span_fit(u, v_c, v_d)
        c_first = anchor_counts[c] >= anchor_counts[d]
        fits.append({
            "span_cosine": fit.span_cosine,
            "alpha": fit.first if a_first else fit.second,
            "beta": fit.second if a_first else fit.first,
            "null_word_a": c, "null_word_b": d,
            "null_span_cosine": null.span_cosine,
            "null_alpha": null.first if c_first else null.second,
            "null_beta": null.second if c_first else null.first,
        })
        # each sense described by its word's nearest anchors in the reference
        senses = top_excluding(reference_words, reference_norms, np.stack([v_a, v_b, v_c, v_d]), k,
                               [set(), set(), {c, d}, {c, d}])
        # difference vectors: v_ab - v_b should point to sense a, v_ab - v_a to sense b
        differences = top_excluding(reference_words, reference_norms, np.stack([u - v_b, u - v_a, u - v_d, u - v_c]),
                                    k, [set(), set(), {c, d}, {c, d}])
        own_axes_words = axis_words(own_words, x[pair.token], k, found=own_axes)
        for instrument, found in (("difference_neighbours", differences), ("dimension_words", [own_axes_words] * 4)):
            hits = [len(found[i] & senses[i]) for i in range(4)]
            instruments.append({
                "pair": position, "instrument": instrument, "hits_a": hits[0], "hits_b": hits[1],
                "recovered": hits[0] > 0 and hits[1] > 0,
                "null_hits_a": hits[2], "null_hits_b": hits[3],
                "null_recovered": hits[2] > 0 and hits[3] > 0,
            })
    return Measured(int(anchors.size), alignment_cosine, fits, instruments)


def matched_atoms(dictionary: np.ndarray, reference_dictionary: np.ndarray, rotation: np.ndarray,
                  threshold: float = ATOM_MATCH_COSINE) -> np.ndarray:
    """For each atom of ``dictionary`` (the planted run's), the reference atom of largest |decoder
    cosine| once the atom is rotated into the reference's basis, or -1 when that cosine is below
    ``threshold``. An atom and its negation are the same feature, hence the absolute value."""
    cosines = np.abs(decoder_cosines(np.asarray(dictionary, dtype=np.float64) @ rotation, reference_dictionary))
    best = cosines.argmax(axis=1)
    return np.where(cosines[np.arange(best.size), best] >= threshold, best, -1)


def feature_recovery(vectors: np.ndarray, reference: np.ndarray, anchors: np.ndarray, reference_anchors: np.ndarray,
                     dictionary: np.ndarray, nonzero: int, reference_dictionary: np.ndarray, reference_nonzero: int,
                     planted: list[PlantedPair], nulls: list[tuple[int, int]],
                     threshold: float = ATOM_MATCH_COSINE) -> list[dict]:
    """The features instrument: does the pseudoword use atoms matching a's atoms and b's?

    The pseudoword's atoms are those its vector uses in its own run's dictionary (``atoms_used``, as
    every word of that feature set was encoded); each stands for its matched reference atom
    (``matched_atoms``, after the same Procrustes alignment as the span fit). A sense's atoms are
    those its word uses in the reference's dictionary. ``hits_a``: the pseudoword's atoms matching
    one of a's; both senses found when hits_a and hits_b are both > 0. ``nulls``: reference rows of
    the null pair set beside each planted pair, the same pair as the other instruments'.
    """
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(reference, dtype=np.float64)
    rotation = align(x[anchors], y[reference_anchors])
    stands_for = matched_atoms(dictionary, reference_dictionary, rotation, threshold)

    def reference_atoms(row: int) -> set[int]:
        return {atom for atom, _ in atoms_used(y[row], reference_dictionary, reference_nonzero)}

    rows = []
    for position, (pair, (c, d)) in enumerate(zip(planted, nulls)):
        found = [int(stands_for[atom]) for atom, _ in atoms_used(x[pair.token], dictionary, nonzero)]
        senses = [reference_atoms(row) for row in (pair.a, pair.b, c, d)]
        hits = [sum(atom in sense for atom in found) for sense in senses]
        rows.append({
            "pair": position, "instrument": "feature_atoms", "hits_a": hits[0], "hits_b": hits[1],
            "recovered": hits[0] > 0 and hits[1] > 0,
            "null_hits_a": hits[2], "null_hits_b": hits[3],
            "null_recovered": hits[2] > 0 and hits[3] > 0,
        })
    return rows
