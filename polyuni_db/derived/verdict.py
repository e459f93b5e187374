"""The verdict: its intervals computed from the items the database holds and stored, and its rows
read back from the view (the report's first table; MLflow logs them as metrics of a study)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from polyuni_db.analysis.verdict import CONFIDENCE, METHOD, RESAMPLES, effect_interval
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.read import read_only_query
from polyuni_db.store.write import write_verdict_intervals

# The answer first: one row per question; the report's first table shows these rows as they are.
VERDICT = "SELECT * FROM verdict"
ITEMS = ("SELECT question, item_group, value, null_value, ceiling FROM verdict_items "
         "WHERE value IS NOT NULL AND null_value IS NOT NULL AND ceiling IS NOT NULL ORDER BY question, item_group, item")


def record_verdict(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int:
    """Bootstrap every question's effect size over its items and store the intervals; returns how
    many question groups have one."""
    _, items = read_only_query(db_path, ITEMS, lock_timeout)
    groups: dict[tuple[str, str], list[tuple[float, float, float]]] = defaultdict(list)
    for question, item_group, value, null, ceiling in items:
        groups[question, item_group].append((value, null, ceiling))
    rows = []
    for (question, item_group), triples in sorted(groups.items()):
        interval = effect_interval(*zip(*triples))
        rows.append({"question": question, "item_group": item_group, "n_items": len(triples),
                     "effect_size": interval.effect_size, "ci_low": interval.low, "ci_high": interval.high,
                     "confidence": CONFIDENCE, "n_resamples": RESAMPLES, "method": METHOD})
    write_verdict_intervals(db_path, rows, lock_timeout)
    return len(rows)


def verdict_rows(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[list[str], list[tuple]]:
    """The verdict as the view holds it: (columns, rows), one row per question."""
    return read_only_query(db_path, VERDICT, lock_timeout)
