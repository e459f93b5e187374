"""Comparing stored runs without their basis: similarity against permutation and rotation nulls,
and dimension words restricted to trained, frequent words. Reads kept vectors; writes one short
transaction per run pair or variant."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.similarity import (
    Scored,
    against_null,
    dimension_word_set,
    knn_indices,
    max_cosine_change,
    permutation_scores,
    random_rotation,
)
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import SMALL_MODEL_WORDS
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, sqlalchemy_connection, upgrade
from polyuni_db.store.read import StoredRun, load_run
from polyuni_db.store.rows import insert_rows
from polyuni_db.store.schema import DimensionWordFiltered
from polyuni_db.store.write import write_similarity

DEFAULT_WORDS = 10_000
DEFAULT_PERMUTATIONS = 100


def shared_rows(a: StoredRun, b: StoredRun, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the ``n_words`` most frequent words the two runs share (by the sum of their ranks),
    leaving out words whose vector has no direction in either run."""
    index_b, usable_a, usable_b = b.index, a.rankable, b.rankable
    pairs = [(i, index_b[word]) for i, word in enumerate(a.words)
             if word in index_b and usable_a[i] and usable_b[index_b[word]]]
    if len(pairs) < 20:
        raise PolyuniError(f"{a.label} and {b.label} share {len(pairs)} words: too few to compare")
    rows = np.array(pairs)
    order = np.argsort(a.ranks[rows[:, 0]] + b.ranks[rows[:, 1]], kind="stable")[:n_words]
    return rows[order, 0], rows[order, 1]


def _rows(a: StoredRun, b: StoredRun, metric: str, scored, n_words: int, parameters: dict) -> dict:
    return {"run_a": a.run_id, "run_b": b.run_id, "metric": metric, **scored._asdict(), "n_words": n_words,
            "parameters": parameters, "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}


AXIS_NULL = "axis_overlap_rotation_null"
# Null rotations come from their own stream, never one a rotation control run was made with.
ROTATION_NULL_STREAM = 7_919


def rotated_sets(run: StoredRun, rotations: int, seed: int) -> list[set[str]]:
    """The run's top-5 dimension-word set under each of ``rotations`` random rotations."""
    vectors = np.asarray(run.vectors, dtype=np.float32)  # a float32 product: 2 to 4 times faster than float64
    rng = np.random.default_rng([ROTATION_NULL_STREAM, seed])
    sets = []
    for _ in range(rotations):
        rotated = vectors @ random_rotation(vectors.shape[1], rng).astype(np.float32)
        sets.append({run.words[i] for i in dimension_word_set(rotated)})
    return sets


class NeighbourCache:
    """k-NN of a run over a set of words, computed once: runs on one corpus share their top words."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.found: dict[tuple[str, bytes], np.ndarray] = {}

    def __call__(self, run: StoredRun, rows: np.ndarray) -> np.ndarray:
        key = (run.label, rows.tobytes())
        if key not in self.found:
            self.found[key] = knn_indices(np.asarray(run.vectors)[rows], self.k)
        return self.found[key]


def compare_pair(a: StoredRun, b: StoredRun, n_words: int, k: int, permutations: int, seed: int,
                 rotated_a: list[set[str]], neighbours: NeighbourCache) -> list[dict]:
    rows_a, rows_b = shared_rows(a, b, n_words)
    x, y = np.asarray(a.vectors)[rows_a], np.asarray(b.vectors)[rows_b]
    parameters = {"words_requested": n_words, "n_words": int(rows_a.size), "k": k,
                  "permutations": permutations, "seed": seed}
    scores = permutation_scores(x, y, permutations, seed, k, (neighbours(a, rows_a), neighbours(b, rows_b)))
    found = [_rows(a, b, metric, scored, rows_a.size, parameters) for metric, scored in scores.items()]
    found.append(axis_overlap_null(a, b, word_set(a), word_set(b), rotated_a, seed))
    return found


def word_set(run: StoredRun) -> set[str]:
    return {run.words[i] for i in dimension_word_set(run.vectors)}


def axis_overlap_null(a: StoredRun, b: StoredRun, set_a: set[str], set_b: set[str], rotated_a: list[set[str]],
                      seed: int) -> dict:
    """The axis-aligned overlap of a and b (their top-5 dimension-word sets) against the overlap that
    arbitrary axes give: rotate a, keep b."""
    null = [len(rotated & set_b) for rotated in rotated_a]
    return _rows(a, b, AXIS_NULL, against_null(len(set_a & set_b), null), len(a.words),
                 {"rotations": len(rotated_a), "seed": seed, "stream": ROTATION_NULL_STREAM, "top": 5, "pole": "max"})


def compared_before(db_path: Path, settings: dict, lock_timeout: float, metric: str = "linear_cka") -> set[tuple[int, int]]:
    """Pairs already compared with these settings: comparing them again would give the same rows."""
    from polyuni_db.store.db import connect

    connection = connect(db_path, read_only=True, lock_timeout=lock_timeout)
    try:
        rows = connection.execute(
            "SELECT run_a, run_b, parameters FROM similarity WHERE metric = ?", [metric]).fetchall()
    finally:
        connection.close()
    found = set()
    for run_a, run_b, parameters in rows:
        stored = json.loads(parameters)
        if all(stored.get(key) == value for key, value in settings.items()):
            found.add((run_a, run_b))
    return found


def similarity_table(rows: list[dict]) -> pa.Table:
    """Similarity rows as a result bundle holds them: parameters as JSON text."""
    return pa.Table.from_pylist([{**row, "parameters": json.dumps(row["parameters"])} for row in rows])


def headline_runs(db_path: Path, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[str]:
    """Every complete run over SMALL_MODEL_WORDS words: the runs of Approach 3's headline table."""
    return sorted(run_ids(db_path, None, lock_timeout))


def run_ids(db_path: Path, labels: list[str] | None, lock_timeout: float) -> dict[str, int]:
    """Run ids by label: of the given labels, or (None) of every complete run over SMALL_MODEL_WORDS
    words, the runs of Approach 3's headline table."""
    from polyuni_db.store.db import connect

    connection = connect(db_path, read_only=True, lock_timeout=lock_timeout)
    try:
        if labels is None:
            found = connection.execute("SELECT label, run_id FROM runs WHERE status = 'complete' AND vocab_size > ?",
                                       [SMALL_MODEL_WORDS]).fetchall()
        else:
            found = connection.execute("SELECT label, run_id FROM runs WHERE status = 'complete' AND list_contains(?, label)",
                                       [labels]).fetchall()
    finally:
        connection.close()
    missing = sorted(set(labels or ()) - {label for label, _ in found})
    if missing:
        raise PolyuniError(f"no complete run labelled {', '.join(missing)} (see `polyuni runs`)")
    return dict(found)


def record_rotation_check(db_path: Path, of: str, rotated: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> float:
    """Store the largest change of any pairwise cosine that the rotation caused (rounding only)."""
    a, b = load_run(db_path, of, lock_timeout), load_run(db_path, rotated, lock_timeout)
    change = max_cosine_change(a.vectors, b.vectors)
    rows = min(2_000, len(a.words))
    no_null = Scored(change, None, None, None, None)  # a check of rounding, not a statistic
    write_similarity(db_path, [_rows(a, b, "rotation_max_cosine_change", no_null, rows, {"rows": rows})], lock_timeout)
    return change


def add_filtered_variant(db_path: Path, label: str, min_count: int = 5, top_k: int = 10,
                         lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int:
    """Dimension words among the run's trained words counted at least ``min_count`` times, stored
    beside (not instead of) its dimension words. Returns how many words qualified."""
    run = load_run(db_path, label, lock_timeout)
    if run.counts is None or run.trained is None:
        raise PolyuniError(f"{label} has no corpus counts (a pretrained run): nothing to filter by")
    keep = np.flatnonzero(run.trained & (run.counts >= min_count))
    if keep.size < top_k:
        raise PolyuniError(f"{label} has {keep.size} trained words counted {min_count} times or more: fewer than top-k {top_k}")
    vectors = np.asarray(run.vectors)[keep]
    words = np.asarray(run.words, dtype=object)[keep]
    parts = []
    for pole, top in dimension_words(vectors, top_k).items():
        n = top.indices.size
        parts.append(pa.table({
            "min_count": pa.array([min_count] * n, pa.int32()),
            "dimension": np.repeat(np.arange(vectors.shape[1], dtype=np.int32), top_k),
            "pole": pa.array([pole] * n),
            "rank": np.tile(np.arange(1, top_k + 1, dtype=np.int32), vectors.shape[1]),
            "word": pa.array(words[top.indices.ravel()]),
            "similarity": top.similarities.ravel(),
        }))
    rows = pa.concat_tables(parts)
    with sqlalchemy_connection(db_path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.delete(DimensionWordFiltered).where(
                DimensionWordFiltered.run_id == run.run_id, DimensionWordFiltered.min_count == min_count))
            insert_rows(connection, "dimension_words_filtered", run.run_id, rows)
    return int(keep.size)
