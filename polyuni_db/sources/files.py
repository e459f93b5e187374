"""Vectors from a local file: word2vec binary, word2vec text, GloVe text (no header line), or
gensim's own ``KeyedVectors.save`` format (memory-mapped)."""
from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress

FORMATS = ("word2vec-bin", "word2vec-text", "glove-text", "gensim")


def file_digest(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes: the vectors depend on the content, not on the name."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def files_of(path: Path, fmt: str) -> list[Path]:
    """Every file the vectors are read from: a ``KeyedVectors.save`` file keeps its large arrays in
    sidecar ``.npy`` files beside it (``NAME.vectors.npy``, ...)."""
    if fmt != "gensim":
        return [path]
    return [path, *sorted(path.parent.glob(glob.escape(path.name) + ".*.npy"))]


def _first_line(path: Path) -> bytes:
    from gensim import utils

    with utils.open(str(path), "rb") as handle:
        return handle.readline(256).removeprefix(codecs.BOM_UTF8)


def _holds_at_least(path: Path, n_bytes: int, chunk_bytes: int = 1 << 22) -> int:
    """The file's size, uncompressed for ``.gz``, counted only as far as ``n_bytes``: a header that
    promises terabytes is refused after reading what the file holds, without allocating for it."""
    if not str(path).endswith(".gz"):
        return os.path.getsize(path)
    seen = 0
    try:
        with gzip.open(path, "rb") as handle:
            while seen < n_bytes and (block := handle.read(chunk_bytes)):
                seen += len(block)
    except (OSError, EOFError, zlib.error) as error:
        raise PolyuniError(f"cannot read {path}: {error}") from None
    return seen


def _check_text_start(path: Path, fmt: str) -> None:
    """GloVe text has no header: an empty file, or a word2vec header read as a word, is said as such."""
    first = _first_line(path).split()
    if not first:
        raise PolyuniError(f"{path} holds no vectors (its first line is empty)")
    if len(first) == 2 and all(part.isdigit() for part in first):
        raise PolyuniError(
            f"{path} starts with a word2vec header ({first[0].decode()} {first[1].decode()}): "
            "use --format word2vec-text"
        )


def _check_header(path: Path, fmt: str) -> None:
    """Refuse a word2vec header that cannot describe this file, before gensim allocates for it."""
    parts = _first_line(path).split()
    try:
        n_words, dim = (int(part) for part in parts)
    except ValueError:
        raise PolyuniError(
            f"{path} has no word2vec header ('WORDS DIM' on the first line); "
            "for GloVe text use --format glove-text"
        ) from None
    if n_words <= 0 or dim <= 0:
        raise PolyuniError(f"{path}: header says {n_words} words of {dim} dimensions")
    # a float takes 4 bytes in binary and at least 2 in text ("0 "): a header promising more than
    # the file can hold is wrong, and gensim would allocate for it before finding out
    needed = n_words * dim * (4 if fmt == "word2vec-bin" else 2)
    held = _holds_at_least(path, needed)
    if needed > held:
        raise PolyuniError(
            f"{path} is truncated or its header is wrong: {n_words} x {dim} vectors need at least "
            f"{needed} bytes, the file has {held}{' uncompressed' if str(path).endswith('.gz') else ''}"
        )


class _DuplicateWords(logging.Handler):
    """Collects the words gensim reports as repeated (it keeps the first and warns)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.words: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("duplicate word") and record.args:
            self.words.append(str(record.args[0]))


def read_vectors(path: Path, fmt: str, limit: int | None = None) -> Embedding:
    """Read a vectors file with gensim's reader; any failure becomes one clear error."""
    from gensim.models import KeyedVectors

    if fmt not in FORMATS:
        raise PolyuniError(f"unknown vectors format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise PolyuniError(f"no vectors file at {path}")
    if fmt.startswith("word2vec"):
        _check_header(path, fmt)
    elif fmt == "glove-text":
        _check_text_start(path, fmt)
    duplicates = _DuplicateWords()
    logging.getLogger("gensim.models.keyedvectors").addHandler(duplicates)
    try:
        if fmt == "gensim":  # KeyedVectors.save(): its large arrays are memory-mapped, not read
            keyed = KeyedVectors.load(str(path), mmap="r")
        else:
            # utf-8-sig: a byte-order mark starting the file is not part of the header or first word
            keyed = KeyedVectors.load_word2vec_format(
                str(path), binary=fmt == "word2vec-bin", no_header=fmt == "glove-text", limit=limit,
                encoding="utf-8-sig",
            )
    except PolyuniError:
        raise
    except Exception as error:  # gensim raises many kinds on malformed input
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PolyuniError(f"cannot read {path} as {fmt}: {reason}") from None
    finally:
        logging.getLogger("gensim.models.keyedvectors").removeHandler(duplicates)
    if duplicates.words or len(keyed.index_to_key) != len(keyed.vectors):
        example = f" ({', '.join(map(repr, duplicates.words[:3]))})" if duplicates.words else ""
        raise PolyuniError(f"{path} has a word more than once{example}: each word needs one vector")
    if len(keyed.index_to_key) == 0 or keyed.vector_size < 1:
        raise PolyuniError(f"{path} holds no vectors")
    words, vectors = list(keyed.index_to_key), keyed.vectors
    if vectors.dtype != np.float32:
        vectors = vectors.astype(np.float32)
    if limit is not None:
        words, vectors = words[:limit], vectors[:limit]
    return Embedding(words=words, vectors=vectors, metadata={"path": str(path)})


@dataclass(frozen=True)
class FileSource:
    """A vectors file on disk, identified by its content."""

    path: Path
    format: str
    limit: int | None = None
    kind: str = "file"

    def spec(self) -> dict:
        if self.format not in FORMATS:
            raise PolyuniError(f"unknown vectors format {self.format!r}: use one of {', '.join(FORMATS)}")
        if not self.path.is_file():
            raise PolyuniError(f"no vectors file at {self.path}")
        return {
            "source": self.kind,
            "format": self.format,
            # every file the vectors come from (a gensim file's .npy sidecars too)
            "sha256": file_digest(self.path) if self.format != "gensim" else
            {candidate.name: file_digest(candidate) for candidate in files_of(self.path, self.format)},
            "limit": self.limit,
        }

    def run_columns(self) -> dict:
        return {"model_name": self.path.name, "corpus": None, "seed": None}

    def default_label(self) -> str:
        return self.path.name.split(".")[0]

    def load(self, progress: Progress = no_progress) -> Embedding:
        progress(0, 1, f"reading {self.path.name}")
        embedding = read_vectors(self.path, self.format, self.limit)
        progress(1, 1, f"reading {self.path.name}")
        return embedding
