"""Each run's vectors, kept as .npy beside the database so that comparing runs later needs no
retraining and no download. Rows are in the run's vocabulary order (word_stats.rank)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from polyuni_db.errors import PolyuniError


def vectors_folder(db_path: Path) -> Path:
    return db_path.resolve().with_name(db_path.stem + ".vectors")


def keep_vectors_file(db_path: Path, fingerprint: str, npy: Path, inside: Path) -> str:
    """Where the run's vectors are kept. A file outside the bundle folder ``inside`` is the one
    they were memory-mapped from (GloVe's package, the model cache) and is kept by reference;
    the bundle's own file is linked (or copied) into the vectors folder, so the bundle may go.
    Relative to the database's folder when inside it, so that the two can be moved together."""
    if not npy.resolve().is_relative_to(inside.resolve()):
        return str(npy)
    folder = vectors_folder(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{fingerprint[:24]}.npy"
    partial = folder / f"{fingerprint[:24]}.partial.npy"
    partial.unlink(missing_ok=True)
    try:
        os.link(npy, partial)  # same file system: no copy
    except OSError:
        shutil.copyfile(npy, partial)
    os.replace(partial, path)  # a kill leaves no half file under the final name
    return str(path.relative_to(db_path.resolve().parent))


def load_vectors(db_path: Path, vectors_path: str | None, label: str) -> np.ndarray:
    if not vectors_path:
        raise PolyuniError(f"run {label!r} was stored without its vectors; re-ingest it with --force to keep them")
    path = Path(vectors_path)
    if not path.is_absolute():
        path = db_path.resolve().parent / path
    if not path.is_file():
        raise PolyuniError(f"the vectors of run {label!r} are gone ({path}); re-ingest it with --force")
    return np.load(path, mmap_mode="r")
