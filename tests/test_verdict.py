"""The verdict's effect size and its bootstrap interval, without a database."""
from __future__ import annotations

import numpy as np
import pytest

from polyuni_db.analysis.verdict import effect_interval, effect_size


def test_the_effect_size_is_0_at_the_null_and_1_at_the_ceiling():
    nulls, ceilings = np.array([0.1, 0.2, 0.3]), np.array([0.9, 0.8, 1.0])
    assert effect_size(nulls, nulls, ceilings) == pytest.approx(0)
    assert effect_size(ceilings, nulls, ceilings) == pytest.approx(1)
    assert effect_size(nulls + 0.5 * (ceilings - nulls), nulls, ceilings) == pytest.approx(0.5)


def test_no_effect_size_where_the_ceiling_is_not_above_the_null():
    assert effect_interval([0.5, 0.6], [0.5, 0.5], [0.4, 0.5]) == (None, None, None)
    assert effect_interval([], [], []) == (None, None, None)


def test_one_item_has_an_effect_size_and_no_interval():
    assert effect_interval([0.5], [0.0], [1.0]) == (0.5, None, None)


def test_the_interval_holds_the_estimate_and_narrows_with_more_items():
    rng = np.random.default_rng(1)

    def width(n):
        values = 0.4 + rng.normal(0, 0.2, n)
        interval = effect_interval(values, np.zeros(n), np.ones(n), resamples=2_000)
        assert interval.low <= interval.effect_size <= interval.high
        return interval.high - interval.low

    assert width(400) < width(20) / 2


def test_the_interval_is_reproducible_and_the_order_of_items_does_not_matter():
    values, nulls, ceilings = [0.2, 0.5, 0.9, 0.4], [0.1, 0.1, 0.2, 0.0], [1.0, 0.9, 1.0, 0.8]
    first = effect_interval(values, nulls, ceilings, resamples=999)
    assert effect_interval(values, nulls, ceilings, resamples=999) == first
    reordered = effect_interval(values[::-1], nulls[::-1], ceilings[::-1], resamples=999)
    assert reordered.effect_size == pytest.approx(first.effect_size)


def test_items_must_line_up():
    with pytest.raises(ValueError, match="one entry per item"):
        effect_interval([0.1, 0.2], [0.0], [1.0, 1.0])
