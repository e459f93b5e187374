"""Run bundles: one run's findings computed away from the database, as files.

A worker (a Dask task, or the ingesting process itself) loads or trains, analyses, and writes

    BUNDLES/fingerprint=<sha256>/run.json                       the runs columns, metadata, notes
    BUNDLES/fingerprint=<sha256>/vectors.npy                    the kept vectors (unless memory-mapped
                                                                 from a .npy that holds exactly them)
    BUNDLES/fingerprint=<sha256>/table=<name>/part-0.parquet    one findings table, without run_id

into a folder named ``.partial-...`` and publishes it with one atomic rename, so a folder named
``fingerprint=...`` is always complete. Workers never open the database: the committer
(``polyuni_db.store.bundles``) imports bundles one short transaction each. The ``key=value`` folder
names let DuckDB read every bundle directly with ``read_parquet(..., hive_partitioning=true)``.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from time import perf_counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from polyuni_db.errors import PolyuniError
from polyuni_db.findings import AnalysisSettings, analyse
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.store.vectors import memory_mapped_file

BUNDLE_PREFIX = "fingerprint="
PARTIAL_PREFIX = ".partial-"
RUN_FILE = "run.json"
VECTORS_FILE = "vectors.npy"
FORMAT_VERSION = 1


def bundle_path(root: Path, fingerprint: str) -> Path:
    return Path(root) / f"{BUNDLE_PREFIX}{fingerprint}"


def find_bundles(root: Path) -> list[Path]:
    """The published bundles under ``root`` (a bundle folder itself, or a folder of them)."""
    root = Path(root)
    if root.name.startswith(BUNDLE_PREFIX):
        return [root]
    if not root.is_dir():
        raise PolyuniError(f"no bundle folder at {root}")
    return sorted(path for path in root.iterdir() if path.name.startswith(BUNDLE_PREFIX) and path.is_dir())


@dataclass(frozen=True)
class Bundle:
    """A published bundle, read back."""

    path: Path
    run: dict  # the runs columns other than run_id, status, vectors_path and the MLflow ones
    metadata: dict  # how the vectors were obtained (not part of the fingerprint)
    notes: tuple[str, ...]  # the pairs that could not be computed, and why
    compute_seconds: float
    vectors_file: Path  # vectors.npy inside the bundle, or the file they were memory-mapped from

    @property
    def fingerprint(self) -> str:
        return self.run["fingerprint"]

    def tables(self, names: tuple[str, ...] | None = None) -> dict[str, pa.Table]:
        """The findings tables (those of ``names`` only, when given) as Arrow tables."""
        folders = sorted(self.path.glob("table=*"))
        return {folder.name.removeprefix("table="): pq.read_table(folder / "part-0.parquet") for folder in folders
                if names is None or folder.name.removeprefix("table=") in names}


def read_bundle(path: Path) -> Bundle:
    path = Path(path)
    try:
        content = json.loads((path / RUN_FILE).read_text(encoding="utf-8"))
        run = content["run"]
        run["created_at"] = datetime.fromisoformat(run["created_at"])
        vectors_file = Path(content["vectors_file"]) if content["vectors_file"] else path / VECTORS_FILE
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PolyuniError(f"{path} is not a run bundle ({error})") from None
    if path.name != f"{BUNDLE_PREFIX}{run['fingerprint']}":
        raise PolyuniError(f"{path} holds run {run['fingerprint'][:12]}, not the one its name says")
    return Bundle(path, run, content["metadata"], tuple(content["notes"]), content["compute_seconds"], vectors_file)


def _write(folder: Path, run: dict, tables: dict[str, pa.Table], vectors: np.ndarray, metadata: dict,
           notes: tuple[str, ...], compute_seconds: float) -> None:
    folder.mkdir(parents=True)
    source_file = memory_mapped_file(vectors)
    if source_file is None:
        np.save(folder / VECTORS_FILE, np.asarray(vectors, dtype=np.float32))
    for name, table in tables.items():
        (folder / f"table={name}").mkdir()
        pq.write_table(table, folder / f"table={name}" / "part-0.parquet")
    content = {
        "format": FORMAT_VERSION,
        "run": {**run, "created_at": run["created_at"].isoformat()},
        "metadata": metadata,
        "notes": list(notes),
        "compute_seconds": compute_seconds,
        "vectors_file": str(source_file) if source_file else None,
    }
    (folder / RUN_FILE).write_text(json.dumps(content, indent=1, default=str), encoding="utf-8")


def publish(root: Path, fingerprint: str, write) -> Path:
    """Run ``write(folder)`` on a private temporary folder, then rename it to the bundle's name.

    A kill leaves only a ``.partial-`` folder, which nothing reads. When another worker published
    the same fingerprint first (a task that ran twice), its bundle is kept: same fingerprint, same rows.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = bundle_path(root, fingerprint)
    partial = root / f"{PARTIAL_PREFIX}{fingerprint[:16]}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        write(partial)
        os.rename(partial, final)  # atomic; fails when the bundle exists (a non-empty folder)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


def remove_partials(root: Path, fingerprints: set[str]) -> None:
    """Remove what killed workers left of these runs' bundles (never a published bundle)."""
    root = Path(root)
    if not root.is_dir():
        return
    prefixes = tuple(f"{PARTIAL_PREFIX}{fingerprint[:16]}-" for fingerprint in fingerprints)
    for path in root.iterdir():
        if path.name.startswith(prefixes):
            shutil.rmtree(path, ignore_errors=True)


def pair_notes(pairs: pa.Table) -> tuple[str, ...]:
    """The pairs that could not be computed, and why, in one line each."""
    return tuple(
        f"{a}:{b} ({'missing ' + missing if missing else status})"
        for a, b, status, missing in zip(*pairs.to_pydict().values())
        if status != "computed"
    )


# The hash seed this process started with (Dask's nanny later sets PYTHONHASHSEED in the driver's
# environment to spawn its workers, which does not change the driver's own hashing).
STARTED_WITH_HASH_SEED = os.environ.get("PYTHONHASHSEED", "unset")


def process_record() -> dict:
    """What a reproducibility record says about the process that did the work. The same run may be
    computed by a Dask worker and committed by the driver, whose environments differ (Dask's nanny gives
    its workers PYTHONHASHSEED=6640 when the driver's is 0 or unset), so each records its own."""
    return {"python_hash_seed": STARTED_WITH_HASH_SEED, "host": socket.gethostname(), "pid": os.getpid()}


def compute_run(source: Source, label: str, parameters: dict, fingerprint: str, settings: AnalysisSettings,
                root: Path, progress: Progress = no_progress) -> Path:
    """Load or train, analyse, and publish the run's bundle under ``root``; returns its folder.
    Touches no database."""
    started = perf_counter()
    embedding = source.load(progress)
    loaded = perf_counter()
    findings = analyse(embedding, settings)
    analysed = perf_counter()
    run = {
        "label": label,
        "fingerprint": fingerprint,
        "source": source.kind,
        **source.run_columns(),
        "dim": embedding.dim,
        "top_k": settings.top_k,
        "parameters": parameters,
        **findings.summary,
        "load_seconds": loaded - started,
        "analysis_seconds": analysed - loaded,
        "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }
    notes = pair_notes(findings.tables["difference_pairs"])
    return publish(root, fingerprint, lambda folder: _write(
        folder, run, findings.tables, embedding.vectors, {**embedding.metadata, "worker": process_record()}, notes,
        perf_counter() - started))
