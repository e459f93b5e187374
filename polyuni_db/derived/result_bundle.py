"""Result bundles: what an instrument task measured on stored runs, as files, like run bundles.

A Dask task (or the sweep's own process) writes

    BUNDLES/results/fingerprint=<sha256>/result.json                  kind, key, the task's columns
    BUNDLES/results/fingerprint=<sha256>/table=<name>/part-0.parquet   rows of one table, without its id
    BUNDLES/results/fingerprint=<sha256>/<array>.npy                   an array to keep (a dictionary)

published with one atomic rename (``bundle.publish``). The committer (``store.results``) stores it
in one transaction. A result bundle is input from elsewhere: ``read_result`` checks its kind, its
tables and their columns against the schema, and its arrays, before anything is written.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import BUNDLE_PREFIX, publish

RESULTS_FOLDER = "results"  # beside the run bundles, which `polyuni import BUNDLES` reads
RESULT_FILE = "result.json"
# Each kind's tables (named as in the schema) and arrays (name: dimensions).
KINDS = {
    "similarity": ({"similarity"}, {}),
    "feature_set": ({"features", "word_features", "atom_loadings", "atom_scores", "feature_set_scores",
                     "wordnet_senses"}, {"dictionary": 2}),
    "recovery": ({"pseudowords", "pseudoword_fits", "pseudoword_instruments", "pseudoword_alignment"}, {}),
}
# The column that the committer fills in, not the task: the id of the row the table belongs to.
OWNER_COLUMNS = {"run_id", "feature_set_id"}


@dataclass(frozen=True)
class Result:
    path: Path
    kind: str
    key: str
    columns: dict  # what the task adds to its kind's own row (a feature set's columns, a run's id)
    tables: dict[str, pa.Table]
    arrays: dict[str, np.ndarray]


def results_root(bundles: Path) -> Path:
    return Path(bundles) / RESULTS_FOLDER


def publish_result(bundles: Path, kind: str, key: str, columns: dict, tables: dict[str, pa.Table],
                   arrays: dict[str, np.ndarray] | None = None) -> str:
    """Write the result under its key (a fingerprint of what was measured); returns its folder."""
    def write(folder: Path) -> None:
        folder.mkdir(parents=True)
        for name, table in tables.items():
            (folder / f"table={name}").mkdir()
            pq.write_table(table, folder / f"table={name}" / "part-0.parquet")
        for name, array in (arrays or {}).items():
            np.save(folder / f"{name}.npy", np.asarray(array, dtype=np.float32))
        content = {"kind": kind, "key": key, "columns": columns}
        (folder / RESULT_FILE).write_text(json.dumps(content, default=str), encoding="utf-8")

    return str(publish(results_root(bundles), key, write))


def read_result(path: Path) -> Result:
    """A published result, checked against the schema: its kind, its tables and their columns,
    its arrays (no pickles); a one-line error naming what is wrong."""
    from polyuni_db.store.schema import Base

    path = Path(path)
    try:
        content = json.loads((path / RESULT_FILE).read_text(encoding="utf-8"))
        kind, key, columns = content["kind"], content["key"], content["columns"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PolyuniError(f"{path} is not a result bundle ({error})") from None
    if kind not in KINDS or not isinstance(columns, dict) or path.name != f"{BUNDLE_PREFIX}{key}":
        raise PolyuniError(f"{path} is not a result bundle of a known kind under its own key")
    allowed_tables, allowed_arrays = KINDS[kind]
    tables = {}
    for folder in sorted(path.glob("table=*")):
        name = folder.name.removeprefix("table=")
        if name not in allowed_tables:
            raise PolyuniError(f"{path}: a {kind} result has no table {name!r}")
        table = pq.read_table(folder / "part-0.parquet")
        unknown = set(table.column_names) - set(Base.metadata.tables[name].columns.keys()) | (
            set(table.column_names) & OWNER_COLUMNS)
        if unknown:
            raise PolyuniError(f"{path}: table {name} has columns the schema does not: {', '.join(sorted(unknown))}")
        tables[name] = table
    arrays = {}
    for name, dimensions in allowed_arrays.items():
        try:
            arrays[name] = np.load(path / f"{name}.npy", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise PolyuniError(f"{path}: array {name} cannot be read ({error})") from None
        if arrays[name].ndim != dimensions or not np.isfinite(arrays[name]).all():
            raise PolyuniError(f"{path}: array {name} is not a finite {dimensions}-dimensional array")
    return Result(path, kind, key, columns, tables, arrays)
