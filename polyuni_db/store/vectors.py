"""Each run's vectors, kept as .npy beside the database so that comparing runs later needs no
retraining and no download. Rows are in the run's vocabulary order (word_stats.rank)."""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from polyuni_db.errors import PolyuniError


def vectors_folder(db_path: Path) -> Path:
    return db_path.resolve().with_name(db_path.stem + ".vectors")


# A vectors file that no run references is swept only when older than this: an ingest saves its
# vectors before it waits for the database, and its run is not stored until then.
SWEEP_GRACE_SECONDS = 3600.0


def memory_mapped_file(vectors: np.ndarray) -> Path | None:
    """The .npy the vectors are memory-mapped from when it holds exactly them (GloVe's package, the
    model cache): such vectors are kept by reference, never copied."""
    if isinstance(vectors, np.memmap) and vectors.filename:
        source = Path(vectors.filename)
        if source.suffix == ".npy" and np.load(source, mmap_mode="r").shape == vectors.shape:
            return source.resolve()
    return None


def _place(db_path: Path, fingerprint: str, write: Callable[[Path], None]) -> tuple[str, bool]:
    """``write(partial)`` then a rename to the kept name, the whole fingerprint (two runs never share
    a file unless they are the same run): a kill leaves no half file under it. The partial's name is
    this call's own, so that concurrent ingests never remove or rename each other's. Returns the path
    relative to the database's folder (the two move together) and whether it is new.

    Databases from before kept vectors under the fingerprint's first 24 characters; those names stay
    readable through ``runs.vectors_path``, and a forced re-ingest moves a run to its whole name."""
    folder = vectors_folder(db_path)
    folder.mkdir(exist_ok=True)
    path = folder / f"{fingerprint}.npy"
    created = not path.exists()
    partial = folder / f"{fingerprint}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial.npy"
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return str(path.relative_to(db_path.resolve().parent)), created


def keep_vectors(db_path: Path, fingerprint: str, vectors: np.ndarray) -> tuple[str, bool]:
    """Where an array is kept: the file it is memory-mapped from when that holds exactly it, else a
    new .npy in the vectors folder. Also: whether the file is new."""
    if source := memory_mapped_file(vectors):
        return str(source), False
    return _place(db_path, fingerprint, lambda partial: np.save(partial, np.asarray(vectors, dtype=np.float32)))


def keep_bundle_vectors(db_path: Path, fingerprint: str, npy: Path, by_reference: bool) -> tuple[str, bool]:
    """Where a bundle's vectors are kept. ``by_reference``: ``npy`` is the file this process memory-mapped
    them from (never a path read from a bundle), kept where it is. Else ``npy`` is the bundle's own
    vectors.npy, linked (copied across file systems) into the vectors folder, so that the bundle may go.
    Also: whether the file is new."""
    if by_reference:
        return str(npy), False

    def link(partial: Path) -> None:
        try:
            os.link(npy, partial, follow_symlinks=False)  # same file system: no copy
        except OSError:
            shutil.copyfile(npy, partial, follow_symlinks=False)

    return _place(db_path, fingerprint, link)


def _resolve(db_path: Path, vectors_path: str) -> Path:
    path = Path(vectors_path)
    return path if path.is_absolute() else db_path.resolve().parent / path


def discard_vectors(db_path: Path, vectors_path: str) -> None:
    """Remove a kept .npy that no stored run needs; files outside ``polyuni.vectors/`` (a package's,
    the model cache) are never touched."""
    path = _resolve(db_path, vectors_path)
    if path.parent == vectors_folder(db_path):
        path.unlink(missing_ok=True)


def sweep_vectors(db_path: Path, referenced: set[str]) -> list[Path]:
    """Remove the .npy files of runs that are not stored (failed, killed or replaced ones) that are
    older than ``SWEEP_GRACE_SECONDS``; returns what was removed."""
    folder = vectors_folder(db_path)
    if not folder.is_dir():
        return []
    keep = {_resolve(db_path, path) for path in referenced if path}
    cutoff = time.time() - SWEEP_GRACE_SECONDS
    removed = []
    for path in folder.glob("*.npy"):
        if path not in keep and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def load_vectors(db_path: Path, vectors_path: str | None, label: str) -> np.ndarray:
    if not vectors_path:
        raise PolyuniError(f"run {label!r} was stored without its vectors; re-ingest it with --force to keep them")
    path = _resolve(db_path, vectors_path)
    if not path.is_file():
        raise PolyuniError(f"the vectors of run {label!r} are gone ({path}); re-ingest it with --force")
    return np.load(path, mmap_mode="r")
