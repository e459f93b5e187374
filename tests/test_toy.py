"""Toy models that train: every Word2Vec setting in the fingerprint, `trained` as "the vector moved",
superposition measures (Elhage et al. 2022) and whether a pair's interference is shared across seeds."""
from __future__ import annotations

import inspect
from dataclasses import fields

import duckdb
import numpy as np
import pytest

from polyuni_db.analysis.similarity import random_rotation
from polyuni_db.analysis.superposition import feature_dimensionality, max_interference, superposition
from polyuni_db.cli import main
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import fingerprint, ingest
from polyuni_db.sources.corpora import MINIMAL_CORPORA, load_corpus
from polyuni_db.sources.trained import TrainedSource, TrainParams
from polyuni_db.study import plan


def rows(db, sql, *parameters):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


# ---- settings ---------------------------------------------------------------------------------

def test_every_setting_defaults_to_gensim_and_is_passed_on():
    from gensim.models import Word2Vec

    gensim_defaults = inspect.signature(Word2Vec.__init__).parameters
    for setting in fields(TrainParams):
        # the study chose skip-gram and min_count 1; one worker keeps runs repeatable
        if setting.name not in ("sg", "min_count", "workers"):
            assert setting.default == gensim_defaults[setting.name].default, setting.name


@pytest.mark.parametrize("change", [
    {"sample": 0.0}, {"negative": 10}, {"hs": 1}, {"ns_exponent": 0.5}, {"alpha": 0.05}, {"min_alpha": 0.001},
    {"cbow_mean": 0}, {"shrink_windows": False}, {"max_final_vocab": 3}, {"batch_words": 100}, {"epochs": 6},
])
def test_every_setting_is_part_of_the_fingerprint(change):
    corpus = load_corpus("corpus_bark")
    base = fingerprint({"vectors": TrainedSource(corpus, 2, 1).spec()})
    assert fingerprint({"vectors": TrainedSource(corpus, 2, 1, TrainParams(**change)).spec()}) != base


def test_cli_settings_reach_the_run(db):
    assert main(["--db", str(db), "ingest", "train", "--corpus", "corpus_bark", "--dims", "2", "--top-k", "2",
                 "--sample", "0", "--negative", "3", "--alpha", "0.05", "--no-shrink-windows", "--epochs", "7",
                 "--no-mlflow"]) == 0
    (run,) = rows(db, "SELECT parameters->'vectors' AS v FROM runs")
    import json

    vectors = json.loads(run["v"])
    assert (vectors["sample"], vectors["negative"], vectors["alpha"], vectors["shrink_windows"], vectors["epochs"]) == (
        0.0, 3, 0.05, False, 7)


def test_bad_settings_are_one_line_errors(db, capsys):
    base = ["--db", str(db), "ingest", "train", "--corpus", "corpus_bark", "--dims", "2", "--no-mlflow"]
    with pytest.raises(SystemExit) as usage:  # malformed argument: argparse's usage error, exit 2
        main(base + ["--sample", "-1"])
    assert usage.value.code == 2 and "--sample: must be 0 or more" in capsys.readouterr().err
    assert main(base + ["--negative", "0", "--hs", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("polyuni: error: negative 0 with hs 0 leaves nothing to train") and err.count("\n") == 1
    assert not db.exists()


# ---- trained means moved ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def food_db(tmp_path_factory):
    """corpus_food with the published settings, and with sample=0 over 1,000 epochs, through the CLI
    (without --top-k: a model of fewer than 10 words ranks all of them)."""
    db = tmp_path_factory.mktemp("food") / "food.duckdb"
    common = ["--db", str(db), "ingest", "train", "--corpus", "corpus_food", "--dims", "3", "--no-mlflow"]
    assert main(common) == 0
    assert main(common + ["--sample", "0", "--epochs", "1000", "--label", "food_t{dim}"]) == 0
    return db


def test_published_settings_leave_every_vector_where_it_started(food_db):
    (run,) = rows(food_db, "SELECT run_id, vocab_size, n_untrained, top_k FROM runs WHERE label = 'corpus_food_3'")
    assert run["n_untrained"] == run["vocab_size"] == run["top_k"] == 9
    stats = rows(food_db, "SELECT trained, moved FROM word_stats WHERE run_id = ?", run["run_id"])
    assert all(not row["trained"] and row["moved"] == 0.0 for row in stats)


def test_sample_0_and_1000_epochs_trains_every_word_with_a_context(food_db):
    sentences = load_corpus("corpus_food").sentences
    with_context = {word for sentence in sentences if len(sentence) > 1 for word in sentence}
    stats = rows(food_db, "SELECT word, trained, moved FROM word_stats JOIN runs USING (run_id) WHERE label = 'food_t3'")
    assert {row["word"] for row in stats if row["trained"]} == with_context
    assert all(row["moved"] > 0.5 for row in stats)  # moved far, not by rounding
    prints = rows(food_db, "SELECT label, fingerprint, n_untrained FROM runs ORDER BY label")
    assert prints[0]["fingerprint"] != prints[1]["fingerprint"] and prints[1]["n_untrained"] == 0


def test_one_word_sentences_never_train_whatever_the_settings():
    embedding = TrainedSource(load_corpus("corpus_4"), 2, 1, TrainParams(sample=0, epochs=50)).load()
    assert not embedding.trained.any() and (embedding.vectors == embedding.initial_vectors).all()


def test_tokens_past_gensims_10000_token_cap_are_untrained(tmp_path, db):
    """One 12,000-token line: gensim trains on its first 10,000 tokens only, so exactly the words that
    occur only after the 10,000th token keep their initial vectors."""
    rng = np.random.default_rng(0)
    head = [f"w{i}" for i in rng.integers(0, 300, 10_000)]  # words seen early, some again later
    tail = [f"w{i}" for i in rng.integers(0, 300, 1_000)] + [f"late{i}" for i in range(1_000)]
    rng.shuffle(tail)
    corpus = tmp_path / "long.txt"
    corpus.write_text(" ".join(head + tail) + "\n")
    assert main(["--db", str(db), "ingest", "train", "--corpus", str(corpus), "--dims", "4", "--epochs", "1",
                 "--sample", "0", "--top-k", "2", "--pairs", "w1:w2", "--no-mlflow"]) == 0
    untrained = {row["word"] for row in rows(db, "SELECT word FROM word_stats WHERE NOT trained")}
    assert untrained == set(tail) - set(head) and len(untrained) > 900
    assert rows(db, "SELECT n_untrained FROM runs") == [{"n_untrained": len(untrained)}]


# ---- superposition measures -------------------------------------------------------------------

def test_feature_dimensionality_by_hand():
    # two orthogonal words each own a dimension; two equal words share one; opposite words too
    assert feature_dimensionality(np.eye(2)).tolist() == [1.0, 1.0]
    np.testing.assert_allclose(feature_dimensionality(np.array([[1.0, 0.0], [1.0, 0.0]])), [0.5, 0.5])
    np.testing.assert_allclose(feature_dimensionality(np.array([[2.0, 0.0], [-1.0, 0.0]])), [0.8, 0.2])
    # three unit vectors 120 degrees apart in a plane: each D = 1 / (1 + 2 * 0.25) = 2/3, sum = 2
    angles = np.radians([0, 120, 240])
    np.testing.assert_allclose(feature_dimensionality(np.c_[np.cos(angles), np.sin(angles)]), [2 / 3] * 3)
    zero = feature_dimensionality(np.array([[1.0, 0.0], [0.0, 0.0], [np.nan, 1.0]]))
    assert zero[0] == 1.0 and np.isnan(zero[1:]).all()


def test_superposition_against_the_definition_and_its_bounds():
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((40, 3)) * rng.uniform(0.1, 3.0, (40, 1))
    found = superposition(vectors)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = [vectors[i] @ vectors[i] / sum((unit[i] @ vectors[j]) ** 2 for j in range(40)) for i in range(40)]
    np.testing.assert_allclose(found.dimensionality, expected, rtol=1e-12)
    np.testing.assert_allclose(found.dimensionality_unit, [1 / sum((unit[i] @ unit[j]) ** 2 for j in range(40))
                                                           for i in range(40)], rtol=1e-12)
    cosines = np.abs(unit @ unit.T)
    np.fill_diagonal(cosines, 0)
    np.testing.assert_allclose(found.max_interference, cosines.max(axis=1), rtol=1e-12)
    for dimensionality in (found.dimensionality, found.dimensionality_unit):
        assert (dimensionality <= 1 + 1e-12).all() and dimensionality.sum() <= 3 + 1e-9  # at most the rank


def test_superposition_is_the_same_in_a_rotated_basis():
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((30, 4)).astype(np.float32)
    rotated = (vectors.astype(np.float64) @ random_rotation(4, 8)).astype(np.float32)
    for before, after in zip(superposition(vectors), superposition(rotated)):
        np.testing.assert_allclose(before, after, atol=1e-5)


def test_max_interference_blocks_equal_one_pass(monkeypatch):
    import polyuni_db.analysis.superposition as module

    vectors = np.random.default_rng(2).standard_normal((50, 3))
    whole = max_interference(vectors)
    monkeypatch.setattr(module, "BLOCK_ROWS", 7)
    np.testing.assert_allclose(max_interference(vectors), whole)
    np.testing.assert_allclose(feature_dimensionality(vectors), superposition(vectors).dimensionality)


def test_rotation_control_keeps_word_superposition(db):
    base = ["--db", str(db), "ingest"]
    assert main(base + ["train", "--corpus", "corpus_bark", "--dims", "3", "--sample", "0", "--epochs", "1000",
                        "--label", "bark_t{dim}", "--no-mlflow"]) == 0
    assert main(base + ["control", "rotate", "--of", "bark_t3", "--seed", "1", "--no-mlflow"]) == 0
    found = rows(db, """SELECT a.word, a.dimensionality AS a, b.dimensionality AS b,
                               a.dimensionality_unit AS ua, b.dimensionality_unit AS ub
                        FROM word_superposition AS a JOIN runs AS ra ON ra.run_id = a.run_id AND ra.label = 'bark_t3'
                        JOIN word_superposition AS b ON b.word = a.word
                        JOIN runs AS rb ON rb.run_id = b.run_id AND rb.label = 'bark_t3_rot1'""")
    assert len(found) == 5
    for row in found:
        assert row["a"] == pytest.approx(row["b"], abs=1e-5) and row["ua"] == pytest.approx(row["ub"], abs=1e-5)
    # the rotation keeps which words were trained
    assert rows(db, "SELECT DISTINCT n_untrained FROM runs") == [{"n_untrained": 0}]


def test_superposition_of_a_large_run_only_when_asked(tmp_path):
    from polyuni_db.sources.base import Embedding

    class Fixed:
        kind = "file"

        def __init__(self, vectors):
            self.vectors = vectors

        def spec(self):
            return {"source": "test", "n": len(self.vectors)}

        def default_label(self):
            return "big"

        def run_columns(self):
            return {"model_name": "test", "corpus": None, "seed": None}

        def load(self, progress=None):
            return Embedding([f"w{i}" for i in range(len(self.vectors))], self.vectors)

    vectors = np.random.default_rng(1).standard_normal((1_200, 5)).astype(np.float32)
    db = tmp_path / "big.duckdb"
    ingest(Fixed(vectors), db, label="big", settings=AnalysisSettings(pairs=()), track=False)
    ingest(Fixed(vectors), db, label="big_100", settings=AnalysisSettings(pairs=(), superposition_words=100), track=False)
    counts = {row["label"]: row["n"] for row in rows(
        db, "SELECT label, count(s.word) AS n FROM runs LEFT JOIN word_superposition AS s USING (run_id) GROUP BY label")}
    assert counts == {"big": 0, "big_100": 100}
    stored = [row["d"] for row in rows(db, "SELECT dimensionality AS d FROM word_superposition JOIN word_stats "
                                           "USING (run_id, word) ORDER BY rank")]
    np.testing.assert_allclose(stored, feature_dimensionality(vectors[:100]), rtol=1e-6)


# ---- across seeds -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeds_db(tmp_path_factory):
    """corpus_bark at 2 dimensions: three trained seeds, and the published (untrained) setting."""
    db = tmp_path_factory.mktemp("seeds") / "seeds.duckdb"
    corpus = load_corpus("corpus_bark")
    settings = AnalysisSettings(top_k=2, pairs=())
    for seed in (1, 2, 3):
        ingest(TrainedSource(corpus, 2, seed, TrainParams(sample=0, epochs=200)), db, settings=settings, track=False,
               label=f"bark_2_trained_s{seed}")
    ingest(TrainedSource(corpus, 2, 1), db, settings=settings, track=False)
    return db


def test_pair_interference_by_hand(seeds_db):
    geometry = rows(seeds_db, """SELECT r.label, r.parameters->'vectors'->>'sample' AS sample,
                                        g.word_a, g.word_b, g.cosine, g.initial_cosine
                                 FROM pair_geometry AS g JOIN runs AS r USING (run_id)""")
    found = rows(seeds_db, "SELECT * FROM pair_interference")
    assert {(row["sample"], row["n_seeds"]) for row in found} == {(0.0, 3), (0.001, 1)}
    trained = [g for g in geometry if float(g["sample"]) == 0]
    random_share = np.mean([abs(g["initial_cosine"]) > 0.5 for g in trained])
    for row in (r for r in found if r["sample"] == 0):
        pair = [g for g in trained if {g["word_a"], g["word_b"]} == {row["word_a"], row["word_b"]}]
        assert row["share_interfering"] == pytest.approx(np.mean([abs(g["cosine"]) > 0.5 for g in pair]))
        assert row["mean_abs_cosine"] == pytest.approx(np.mean([abs(g["cosine"]) for g in pair]))
        assert row["random_share"] == pytest.approx(random_share)
        assert row["word_a"] < row["word_b"]
    assert len([r for r in found if r["sample"] == 0]) == 10  # every pair of bark's five words
    # the untrained run: its vectors are its initial ones, so its cosines are the initial cosines
    untrained = [g for g in geometry if float(g["sample"]) > 0]
    assert all(g["cosine"] == pytest.approx(g["initial_cosine"], abs=1e-6) for g in untrained)


def test_run_superposition_against_numpy(seeds_db):
    from polyuni_db.store.read import load_run

    (row,) = rows(seeds_db, "SELECT * FROM run_superposition WHERE label = 'bark_2_trained_s2'")
    run = load_run(seeds_db, "bark_2_trained_s2")
    measures = superposition(run.vectors)
    vectors = np.asarray(run.vectors, dtype=np.float64)
    assert row["dimensions_per_feature"] == pytest.approx(2 / (vectors ** 2).sum(), rel=1e-5)
    assert row["dimensions_per_feature_unit"] == pytest.approx(2 / 5)
    assert row["mean_dimensionality_unit"] == pytest.approx(measures.dimensionality_unit.mean(), rel=1e-6)
    assert row["total_dimensionality_unit"] <= 2 + 1e-9
    assert row["mean_max_interference"] == pytest.approx(measures.max_interference.mean(), rel=1e-6)


def test_blog_preset_adds_trained_variants():
    runs = plan("blog")
    labels = [run.label for run in runs]
    variants = [label for label in labels if "_trained" in label]
    assert len(variants) == 5 * 3 * 20  # the toy corpora with contexts x dimensions x seeds
    assert "corpus_bark_3_trained" in labels and "corpus_capital_4_trained_s20" in labels
    assert not any(label.startswith(("corpus_2_", "corpus_3_", "corpus_4_", "corpus_5_")) and "_trained" in label
                   for label in labels)
    assert all(f"{name}_{dim}" in labels for name in MINIMAL_CORPORA for dim in (2, 3, 4))  # the published runs stay
    source, _ = next(run for run in runs if run.label == "corpus_food_2_trained_s7").build(None)
    assert (source.seed, source.params.sample, source.params.epochs) == (7, 0, 1000)


def test_point_labels_do_not_overlap():
    """Six words on nearly the same spot: every label gets a box of its own, clear of every marker."""
    from polyuni_db.report.figures import LABEL_FONT, _label_points

    class Axes:
        def __init__(self):
            self.labels = []

        def annotate(self, word, point, xytext, ha, **options):
            self.labels.append((word, point, xytext, ha))

    words = ["Dog", "Tree", "Bark", "Sound", "Creak", "Cat"]
    xs, ys = np.array([0.0, 0.01, 0.02, 0.0, 0.01, 0.02]), np.array([0.0, 0.0, 0.01, 0.01, 0.02, 0.02])
    axes = Axes()
    _label_points(axes, words, xs, ys, points_per_unit=100.0)
    boxes = []
    for word, (x, y), (dx, dy), ha in axes.labels:
        width = 0.6 * LABEL_FONT * len(word)
        left = x * 100 + dx - (width if ha == "right" else 0)
        boxes.append((left, y * 100 + dy, left + width, y * 100 + dy + LABEL_FONT))
    markers = [(x * 100 - 3, y * 100 - 3, x * 100 + 3, y * 100 + 3) for x, y in zip(xs, ys)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:] + markers:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
