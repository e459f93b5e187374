"""The verdict's effect size and its bootstrap interval.

Each question of the verdict summarises items (pairs of runs, word pairs, pseudowords), each with a
measured value, its null and the ceiling it is read against. The effect size places the mean value
between the mean null (0) and the mean ceiling (1): (mean value - mean null) / (mean ceiling - mean
null). The interval resamples the items, each with its own value, null and ceiling (a paired
bootstrap, ``scipy.stats.bootstrap``), so it says how much the answer depends on which items the
study happened to hold.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9_999
# Percentile intervals: BCa needs a jackknife that fails for a handful of identical items, which a
# small study has (every seed agreeing, every ceiling 1).
METHOD = "percentile"


class Interval(NamedTuple):
    effect_size: float | None
    low: float | None
    high: float | None


def effect_size(values, nulls, ceilings, axis: int = -1):
    """(mean value - mean null) / (mean ceiling - mean null); NaN where the ceiling is not above the null."""
    value, null, ceiling = (np.mean(np.asarray(x, dtype=float), axis=axis) for x in (values, nulls, ceilings))
    span = ceiling - null
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span > 0, (value - null) / np.where(span > 0, span, 1.0), np.nan)


def effect_interval(values, nulls, ceilings, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                    seed: int = 0) -> Interval:
    """The effect size of the items and its bootstrap interval; no interval for fewer than two items,
    nor where the effect size itself is undefined."""
    values, nulls, ceilings = (np.asarray(x, dtype=float) for x in (values, nulls, ceilings))
    if not len(values) == len(nulls) == len(ceilings):
        raise ValueError("values, nulls and ceilings must have one entry per item")
    if len(values) == 0:
        return Interval(None, None, None)
    point = float(effect_size(values, nulls, ceilings))
    if np.isnan(point):
        return Interval(None, None, None)
    if len(values) < 2 or np.ptp(np.stack([values, nulls, ceilings]), axis=1).max() == 0:
        # one item, or items all alike: resampling cannot move the estimate
        return Interval(point, None, None) if len(values) < 2 else Interval(point, point, point)
    with warnings.catch_warnings():  # resamples without a span give NaN bounds, handled below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        result = stats.bootstrap((values, nulls, ceilings), effect_size, paired=True, vectorized=True,
                                 confidence_level=confidence, n_resamples=resamples, method=METHOD,
                                 random_state=np.random.default_rng(seed))
    low, high = result.confidence_interval
    if np.isnan(low) or np.isnan(high):  # some resamples had no span between null and ceiling
        return Interval(point, None, None)
    return Interval(point, float(low), float(high))
