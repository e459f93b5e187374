"""Ingestion into a real DuckDB file, tracked in real MLflow."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest
from gensim.models import KeyedVectors

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.files import FileSource
from polyuni_db.sources.pretrained import PretrainedSource
from polyuni_db.sources.trained import TrainedSource, TrainParams


def query(db, sql, *params):
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="module")
def glove_db(tmp_path_factory):
    """GloVe ingested once, with MLflow, for the tests that only read it."""
    db = tmp_path_factory.mktemp("glove") / "findings.duckdb"
    pairs = (("squirrel", "phone"), ("potato", "square"), ("poland", "yoga"), ("squirrel", "qwxzyk"))
    result = ingest(PretrainedSource("glove-wiki-gigaword-50"), db, settings=AnalysisSettings(pairs=pairs))
    return db, result


def test_glove_rows_equal_gensim(glove_db, glove_kv):
    db, result = glove_db
    assert result.action == "ingested" and result.label == "glove"
    rows = query(db, """
        SELECT dimension, list(word ORDER BY rank) FROM dimension_words JOIN runs USING (run_id)
        WHERE label = 'glove' AND pole = 'max' GROUP BY dimension ORDER BY dimension""")
    assert len(rows) == 50
    for dimension, words in rows[:10]:
        query_vector = np.zeros(50, dtype=np.float32)
        query_vector[dimension] = 1.0
        assert words == [word for word, _ in glove_kv.most_similar(query_vector, topn=10)]
    neighbours = query(db, """SELECT list(word ORDER BY rank) FROM difference_neighbours
                              WHERE word_a = 'squirrel' AND word_b = 'phone'""")[0][0]
    expected = glove_kv.most_similar(glove_kv["squirrel"] - glove_kv["phone"], topn=10)
    assert neighbours == [word for word, _ in expected]


def test_pairs_with_unknown_words_are_recorded_and_the_others_computed(glove_db):
    db, result = glove_db
    pairs = dict(((a, b), (status, missing)) for a, b, status, missing in query(
        db, "SELECT word_a, word_b, status, missing_words FROM difference_pairs"))
    assert pairs[("squirrel", "qwxzyk")] == ("missing words", "qwxzyk")
    assert pairs[("poland", "yoga")] == ("computed", None)
    counts = dict(query(db, "SELECT word_a || ':' || word_b, count(*) FROM difference_neighbours GROUP BY 1"))
    assert counts == {"squirrel:phone": 10, "potato:square": 10, "poland:yoga": 10}
    assert result.notes == ("squirrel:qwxzyk (missing qwxzyk)",)


def test_word_stats_of_a_pretrained_model(glove_db, glove):
    db, _ = glove_db
    (n, n_count, n_trained), = query(db, "SELECT count(*), count(count), count(trained) FROM word_stats")
    assert (n, n_count, n_trained) == (400_000, 0, 0)  # frequency is the rank; trained is unknown
    (rank, norm), = query(db, "SELECT rank, norm FROM word_stats WHERE word = 'of'")
    assert rank == 4 and norm == pytest.approx(float(np.linalg.norm(glove.vectors[3])), rel=1e-6)
    run = query(db, "SELECT status, vocab_size, dim, top_k, n_untrained, source, model_name FROM runs")[0]
    assert run == ("complete", 400_000, 50, 10, None, "pretrained", "glove-wiki-gigaword-50")


def test_the_run_is_in_mlflow(glove_db):
    from mlflow.tracking import MlflowClient

    from polyuni_db.runs.tracking import tracking_uri

    db, result = glove_db
    (mlflow_run_id, status), = query(db, "SELECT mlflow_run_id, mlflow_status FROM runs")
    assert status == "logged" and mlflow_run_id == result.mlflow_run_id
    client = MlflowClient(tracking_uri(db))
    logged = client.get_run(mlflow_run_id)
    assert logged.data.params["vectors.name"] == "glove-wiki-gigaword-50"
    assert logged.data.params["analysis.top_k"] == "10"
    assert logged.data.metrics["vocab_size"] == 400_000
    # found from either side: the MLflow run is named by the label and tagged with polyuni's run id
    assert logged.info.run_name == "glove"
    assert logged.data.tags["polyuni.label"] == "glove" and logged.data.tags["polyuni.run_id"] == str(result.run_id)
    assert {a.path for a in client.list_artifacts(mlflow_run_id)} >= {"dimension_words.csv", "difference_neighbours.csv"}


def test_reingest_is_a_noop_and_force_replaces(tmp_path):
    db = tmp_path / "f.duckdb"
    source = TrainedSource(load_corpus("corpus_bark"), dim=3, seed=1)
    settings = AnalysisSettings(top_k=3)
    first = ingest(source, db, settings=settings, track=False)
    before = query(db, "SELECT * FROM dimension_words ORDER BY ALL")
    again = ingest(source, db, settings=settings, track=False)
    assert (first.action, again.action, again.run_id) == ("ingested", "skipped", first.run_id)
    forced = ingest(source, db, settings=settings, track=False, force=True)
    assert forced.action == "replaced" and forced.run_id == first.run_id
    assert query(db, "SELECT * FROM dimension_words ORDER BY ALL") == before  # same fingerprint, same rows
    assert query(db, "SELECT count(*), min(status) FROM runs") == [(1, "complete")]


def test_a_label_of_another_fingerprint_is_refused(tmp_path):
    db = tmp_path / "f.duckdb"
    settings = AnalysisSettings(top_k=2)
    ingest(TrainedSource(load_corpus("corpus_4"), 2, 1), db, label="mine", settings=settings, track=False)
    with pytest.raises(PolyuniError, match="label 'mine' already belongs to another run"):
        ingest(TrainedSource(load_corpus("corpus_4"), 3, 1), db, label="mine", settings=settings, track=False)
    assert query(db, "SELECT dim FROM runs") == [(2,)]


def test_small_models_store_every_vector_and_pair(tmp_path):
    db = tmp_path / "f.duckdb"
    result = ingest(TrainedSource(load_corpus("corpus_4"), 3, 1), db, settings=AnalysisSettings(top_k=4), track=False)
    assert result.label == "corpus_4_3"
    assert query(db, "SELECT count(*) FROM word_vectors") == [(12,)]
    geometry = query(db, "SELECT word_a, word_b, cosine, angle_degrees FROM pair_geometry")
    assert len(geometry) == 6
    vectors = {}
    for word, dimension, value in query(db, "SELECT word, dimension, value FROM word_vectors"):
        vectors.setdefault(word, [0.0] * 3)[dimension] = value
    for word_a, word_b, cosine, angle in geometry:
        a, b = np.array(vectors[word_a]), np.array(vectors[word_b])
        assert cosine == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6)
        assert angle == pytest.approx(np.degrees(np.arccos(cosine)), abs=1e-6)
    # one-word sentences: no word ever has a context, so no vector moved
    assert query(db, "SELECT n_untrained, vocab_size FROM runs") == [(4, 4)]
    assert query(db, "SELECT max(moved) FROM word_stats") == [(0.0,)]


def test_untrained_flag_on_a_corpus_made_for_it(tmp_path):
    """Without down-sampling, exactly the words that are alone in every sentence keep their vector."""
    corpus = tmp_path / "made.txt"
    corpus.write_text("cat sat\nlonely\ncat mat sat\nhermit\n")
    db = tmp_path / "f.duckdb"
    ingest(TrainedSource(load_corpus(str(corpus)), 4, 2, TrainParams(sample=0)), db,
           settings=AnalysisSettings(top_k=2), track=False)
    untrained = query(db, "SELECT word FROM word_stats WHERE NOT trained ORDER BY word")
    assert untrained == [("hermit",), ("lonely",)]
    assert query(db, "SELECT label, seed, n_untrained FROM runs") == [("made_4_s2", 2, 2)]


def test_a_corrupt_file_writes_nothing(tmp_path):
    keyed = KeyedVectors(3)
    keyed.add_vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    good = tmp_path / "good.bin"
    keyed.save_word2vec_format(str(good), binary=True)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(good.read_bytes()[:-5])
    db = tmp_path / "f.duckdb"
    with pytest.raises(PolyuniError, match=r"cannot read .*bad\.bin as word2vec-bin: unexpected end"):
        ingest(FileSource(bad, "word2vec-bin"), db, label="bad", track=False)
    assert not db.exists()
    ingest(FileSource(good, "word2vec-bin"), db, label="good", settings=AnalysisSettings(top_k=2), track=False)
    with pytest.raises(PolyuniError, match=r"cannot read .*bad\.bin as word2vec-bin: unexpected end"):
        ingest(FileSource(bad, "word2vec-bin"), db, label="bad", track=False)
    assert query(db, "SELECT label FROM runs") == [("good",)]


def test_mlflow_failure_keeps_the_findings(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where MLflow wants a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{blocker}/mlruns")
    db = tmp_path / "f.duckdb"
    result = ingest(TrainedSource(load_corpus("corpus_2"), 2, 1), db, settings=AnalysisSettings(top_k=1))
    assert result.mlflow_error and result.mlflow_run_id is None
    assert query(db, "SELECT status, mlflow_status, mlflow_run_id FROM runs") == [("complete", "failed", None)]
