"""The committer of result bundles (``polyuni_db.derived.result_bundle``): what instrument tasks measured,
stored one transaction each by the writers of ``store``."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from polyuni_db.derived.result_bundle import Result
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.features import stored_feature_set, write_feature_set
from polyuni_db.store.vectors import discard_vectors, keep_vectors
from polyuni_db.store.write import write_pseudoword_recovery, write_similarity


def commit_result(db_path: Path, result: Result, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int | None:
    """Store a checked result: similarity rows (returns how many), a feature set (returns its id;
    one stored with the same fingerprint is kept) or a planted run's recovery (returns None)."""
    if result.kind == "similarity":
        rows = result.tables["similarity"].to_pylist()
        for row in rows:
            row["parameters"] = json.loads(row["parameters"])
        write_similarity(db_path, rows, lock_timeout)
        return len(rows)
    if result.kind == "feature_set":
        if (stored := stored_feature_set(db_path, result.key, lock_timeout)) is not None:
            return stored
        row = {**result.columns, "fingerprint": result.key,
               "created_at": datetime.fromisoformat(result.columns["created_at"])}
        dictionary_path, new = keep_vectors(db_path, result.key, result.arrays["dictionary"])
        tables = dict(result.tables)
        senses = tables.pop("wordnet_senses")
        try:
            return write_feature_set(db_path, {**row, "dictionary_path": dictionary_path}, tables, senses,
                                     replace=False, lock_timeout=lock_timeout).feature_set_id
        except BaseException:  # not stored: neither is its dictionary
            if new:
                discard_vectors(db_path, dictionary_path)
            raise
    write_pseudoword_recovery(db_path, result.columns["run_id"], result.tables, lock_timeout)
    return None
