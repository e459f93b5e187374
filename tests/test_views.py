"""The SQL views against hand-computed values and an independent numpy reference."""
from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pytest
from gensim.models import KeyedVectors
from scipy.stats import hypergeom

from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.files import FileSource
from polyuni_db.store.read import init


def axis_model(folder, name: str, ranked: list[list[str]], others: list[str]):
    """Vectors whose top words per axis are known: ranked[d][i] points along e_d, tilted away from
    the other axes by 0.01·(i+1); the others point away from every axis."""
    dim = len(ranked)
    words, rows = [], []
    for d, column in enumerate(ranked):
        for i, word in enumerate(column):
            vector = np.full(dim, -0.01 * (i + 1))
            vector[d] = 1.0
            words.append(word)
            rows.append(vector)
    for j, word in enumerate(others):
        words.append(word)
        rows.append(np.full(dim, -1.0 - 0.1 * j))
    keyed = KeyedVectors(dim)
    keyed.add_vectors(words, np.array(rows, dtype=np.float32))
    path = folder / f"{name}.txt"
    keyed.save_word2vec_format(str(path))
    return path


def ingest_file(db, path, label, pairs=(("a1", "b1"), ("a1", "nope")), force=False):
    return ingest(FileSource(path, "word2vec-text"), db, label=label, track=False, force=force,
                  settings=AnalysisSettings(top_k=5, pairs=pairs))


def rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql)
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


@pytest.fixture
def hand_db(tmp_path):
    db = tmp_path / "views.duckdb"
    a = axis_model(tmp_path, "a", [["a1", "a2", "a3", "a4", "a5"], ["b1", "b2", "b3", "b4", "b5"]], ["x", "y"])
    b = axis_model(tmp_path, "b", [["a1", "a2", "c1", "c2", "c3"], ["b1", "x", "c4", "c5", "c6"]], ["y", "z"])
    ingest_file(db, a, "model_a")
    ingest_file(db, b, "model_b")
    return db, b


def test_model_overlap_by_hand(hand_db):
    db, _ = hand_db
    # A = {a1..a5, b1..b5}, B = {a1, a2, c1, c2, c3, b1, x, c4, c5, c6}; S = {a1, a2, b1, x, y}.
    # A ∩ B = {a1, a2, b1}; |A ∩ S| = 3, |B ∩ S| = 4, so chance gives 3·4/5 = 2.4, and
    # P(X >= 3) for X ~ Hypergeom(5, 3, 4) = C(3,3)·C(2,1)/C(5,4) = 0.4.
    (overlap,) = rows(db, "SELECT * FROM model_overlap")
    assert overlap == {
        "label_a": "model_a", "label_b": "model_b", "n_common": 3, "common_words": "a1, a2, b1",
        "n_a": 10, "n_b": 10, "n_shared_vocab": 5, "expected_common": pytest.approx(2.4),
        "ratio": pytest.approx(1.25), "p_value": pytest.approx(0.4),
    }
    # top 2: A's set {a1, a2, b1, b2}, B's {a1, a2, b1, x}: 3 in common, chance 3·4/5 again
    (top2,) = rows(db, "SELECT n_common, n_a, expected_common FROM overlap_at(2, 'max')")
    assert top2 == {"n_common": 3, "n_a": 4, "expected_common": pytest.approx(2.4)}


def test_views_stay_right_after_a_forced_reingest(hand_db):
    db, b = hand_db
    before = rows(db, "SELECT * FROM model_overlap")
    assert ingest_file(db, b, "model_b", force=True).action == "replaced"
    assert rows(db, "SELECT * FROM model_overlap") == before
    assert rows(db, "SELECT count(*) AS n FROM run_summary") == [{"n": 2}]
    assert rows(db, "SELECT count(*) AS n FROM dimension_word_sets") == [{"n": 20}]


def test_difference_comparison_side_by_side(hand_db):
    db, _ = hand_db
    compared = rows(db, "SELECT * FROM difference_comparison ORDER BY word_b, label")
    assert [(r["label"], r["word_b"], r["status"]) for r in compared] == [
        ("model_a", "b1", "computed"), ("model_b", "b1", "computed"),
        ("model_a", "nope", "missing words"), ("model_b", "nope", "missing words"),
    ]
    neighbours = rows(db, """SELECT list(word ORDER BY rank) AS words, list(similarity ORDER BY rank) AS sims
                             FROM difference_neighbours JOIN runs USING (run_id)
                             WHERE label = 'model_a' AND word_b = 'b1'""")[0]
    assert compared[0]["neighbours"] == neighbours["words"] and len(neighbours["words"]) == 5
    assert compared[0]["similarities"] == neighbours["sims"]
    assert compared[2]["neighbours"] == [] and compared[2]["missing_words"] == "nope"


def reference_sets(vectors: np.ndarray, k: int) -> set[int]:
    """Top-k rows by cos(v, +e_d) for every column, by plain numpy: an independent reference."""
    cosines = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return {int(i) for d in range(vectors.shape[1]) for i in np.argsort(-cosines[:, d], kind="stable")[:k]}


def test_overlap_and_duplicates_match_an_independent_reference(tmp_path):
    rng = np.random.default_rng(7)
    db = tmp_path / "random.duckdb"
    pool = [f"w{i}" for i in range(60)]
    models = {}
    for index, (size, dim) in enumerate([(40, 6), (50, 8), (40, 6), (30, 4)]):
        chosen = sorted(rng.choice(len(pool), size=size, replace=False))
        if index == 2:  # same vocabulary as model 0: exercises the shared vocabulary signature
            chosen = models["m0"][0]
        words = [pool[i] for i in chosen]
        vectors = rng.normal(size=(len(words), dim)).astype(np.float32)
        keyed = KeyedVectors(dim)
        keyed.add_vectors(words, vectors)
        path = tmp_path / f"m{index}.txt"
        keyed.save_word2vec_format(str(path))
        ingest_file(db, path, f"m{index}", pairs=())
        models[f"m{index}"] = (chosen, words, vectors)

    got = {(r["label_a"], r["label_b"]): r for r in rows(db, "SELECT * FROM model_overlap")}
    assert len(got) == 6
    for (name_a, (_, words_a, vec_a)), (name_b, (_, words_b, vec_b)) in itertools.combinations(models.items(), 2):
        set_a = {words_a[i] for i in reference_sets(vec_a, 5)}
        set_b = {words_b[i] for i in reference_sets(vec_b, 5)}
        shared = set(words_a) & set(words_b)
        k_a, k_b, n_common = len(set_a & shared), len(set_b & shared), len(set_a & set_b)
        row = got[(name_a, name_b)]
        assert (row["n_common"], row["n_a"], row["n_b"], row["n_shared_vocab"]) == (
            n_common, len(set_a), len(set_b), len(shared))
        assert row["common_words"] == ", ".join(sorted(set_a & set_b))
        assert row["expected_common"] == pytest.approx(k_a * k_b / len(shared))
        assert row["p_value"] == pytest.approx(hypergeom.sf(n_common - 1, len(shared), k_a, k_b), rel=1e-9)

    for name, (_, words, vectors) in models.items():
        cosines = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        tops = [set(np.argsort(-cosines[:, d], kind="stable")[:5]) for d in range(vectors.shape[1])]
        expected = {words[i]: sum(i in top for top in tops) for i in range(len(words))}
        expected = {word: n for word, n in expected.items() if n > 1}
        found = rows(db, f"SELECT word, n_dimensions FROM duplicate_dimension_words WHERE label = '{name}'")
        assert {r["word"]: r["n_dimensions"] for r in found} == expected


def test_pair_geometry_summary_and_run_summary(tmp_path):
    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.trained import TrainedSource

    db = tmp_path / "small.duckdb"
    ingest(TrainedSource(load_corpus("corpus_bark"), 3, 1), db, settings=AnalysisSettings(top_k=2), track=False)
    summary = rows(db, "SELECT * FROM pair_geometry_summary")
    assert len(summary) == 10  # 5 words
    mean_angle = np.mean([r["angle_degrees"] for r in summary])
    assert all(r["average_angle"] == pytest.approx(mean_angle) for r in summary)
    (run,) = rows(db, "SELECT label, source, corpus, dim, seed, vocab_size, n_untrained FROM run_summary")
    # the published settings (sample=1e-3) drop nearly every token of corpus_bark: no vector moves
    assert run == {"label": "corpus_bark_3", "source": "train", "corpus": "corpus_bark", "dim": 3,
                   "seed": 1, "vocab_size": 5, "n_untrained": 5}


def test_the_overlap_p_value_is_scipy_s_hypergeometric_tail_on_both_sides_of_the_mean(tmp_path):
    """hypergeom_tail sums the shorter side (one minus the lower terms at or below the mean; the upper
    tail above it, stopped once the rest is below 1e-16): scipy's sf everywhere, far tails included."""
    db = tmp_path / "p.duckdb"
    init(db)
    cases = [(n, population, a, b) for population, a, b in [(20_000, 250, 250), (60, 30, 25), (1_000, 40, 900),
                                                               (500, 500, 10), (37, 5, 7)]
             for n in sorted({0, 1, 2, 3, 5, 8, 13, 21, 40, min(a, b)}) if n <= min(a, b)]
    with duckdb.connect(str(db), read_only=True) as connection:
        got = [connection.execute("SELECT hypergeom_tail(?, ?, ?, ?)", list(case)).fetchone()[0] for case in cases]
    for (n, population, a, b), p_value in zip(cases, got):
        expected = hypergeom.sf(n - 1, population, a, b)
        assert p_value == pytest.approx(expected, rel=1e-9, abs=1e-300), (n, population, a, b)
    assert min(got) < 1e-100 and max(got) == pytest.approx(1.0)  # far tails and the whole distribution
