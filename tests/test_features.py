"""Features without a basis: OMP against scikit-learn, the decisive rotation control, the views
against numpy and scipy, the CLI's errors, and a killed `polyuni features`."""
from __future__ import annotations

import os
import signal
import sys
import time

import duckdb
import numpy as np
import pytest
from scipy import sparse
from scipy.stats import spearmanr

from polyuni_db.analysis import features as kernels
from polyuni_db.analysis.similarity import dimension_word_set, random_rotation
from polyuni_db.cli import main

ATOMS, WORDS = 64, 2_000  # small settings: each feature set takes seconds


def rows(db, sql, *parameters):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def test_batched_omp_equals_scikit_learn():
    from sklearn.linear_model import orthogonal_mp_gram

    rng = np.random.default_rng(3)
    dictionary = kernels.unit_rows(rng.standard_normal((120, 20)))
    x = kernels.unit_rows(rng.standard_normal((300, 20)))
    ours = kernels.encode(x, dictionary, 4, n_jobs=2, block=64).toarray()
    theirs = orthogonal_mp_gram(dictionary @ dictionary.T, dictionary @ x.T, n_nonzero_coefs=4).T
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    assert (np.count_nonzero(ours, axis=1) == 4).all()


def test_kernels_against_numpy_and_scipy():
    rng = np.random.default_rng(5)
    a = sparse.random(500, 12, density=0.3, random_state=1, format="csr")
    b = sparse.random(500, 9, density=0.3, random_state=2, format="csr")
    reference = np.corrcoef(a.toarray().T, b.toarray().T)[:12, 12:]
    np.testing.assert_allclose(kernels.activation_correlation(a, b), reference, atol=1e-10)
    codes = sparse.csr_matrix(np.array([[1.0, 0, 0], [1.0, 1.0, 0], [0.5, -0.5, 0.5]]))
    np.testing.assert_allclose(kernels.effective_atoms(codes), [1.0, 2.0, 3.0])
    x, y = rng.standard_normal(200), rng.integers(1, 6, 200).astype(float)
    rho, null = kernels.spearman_with_null(x, y + x, 50, seed=0)
    assert rho == pytest.approx(spearmanr(x, y + x).statistic) and abs(null.mean()) < 0.05
    assert kernels.supersense_purity(["noun.animal", "noun.animal", None, "noun.food"]) == pytest.approx(2 / 3)
    unit = kernels.unit_rows(rng.standard_normal((4, 3)))
    assert kernels.coherence(unit, np.array([0, 1, 2])) == pytest.approx(np.mean([unit[i] @ unit[j] for i, j in ((0, 1), (0, 2), (1, 2))]))
    matching = kernels.match(np.array([[0.1, -0.9], [0.8, 0.7]]))
    assert matching.atoms_b.tolist() == [1, 0] and matching.values.tolist() == [0.9, 0.8]


@pytest.fixture(scope="module")
def glove_words(glove):
    return kernels.unit_rows(np.asarray(glove.vectors)[:WORDS])


@pytest.fixture(scope="module")
def glove_codes(glove_words):
    """GloVe with dictionary seeds 1 and 2, and its random rotation with seeds 1 and 2."""
    rotated = glove_words @ random_rotation(glove_words.shape[1], 1)
    found = {}
    for name, x in (("glove", glove_words), ("rotated", rotated)):
        for seed in (1, 2):
            dictionary = kernels.fit_dictionary(x, ATOMS, 5, seed)
            found[name, seed] = kernels.orient(dictionary, kernels.encode(x, dictionary, 5))
    return found


def _matched(codes, a, b) -> float:
    return float(kernels.match(kernels.activation_correlation(codes[a][1], codes[b][1])).values.mean())


def test_a_dictionary_is_deterministic_and_fits(glove_words, glove_codes):
    dictionary, codes = glove_codes["glove", 1]
    again = kernels.fit_dictionary(glove_words, ATOMS, 5, 1)
    np.testing.assert_allclose(np.abs(again), np.abs(dictionary), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(dictionary, axis=1), 1.0)
    assert kernels.explained_variance(glove_words, codes, dictionary) > 0.3
    assert kernels.dead_atoms(codes) == 0
    # a pseudoword made of two words uses atoms of both (the function issue 12 will call)
    word = 7
    used = kernels.atoms_used(np.asarray(glove_words[word]) * 3.0, dictionary, 5)
    assert {atom for atom, _ in used} == set(codes[word].indices.tolist())


def test_glove_and_its_rotation_share_features_but_no_dimension_words(glove, glove_codes):
    """The decisive control: rotated GloVe shares 0 dimension words with GloVe, yet its features
    (learnt with another seed) match GloVe's as well as two seeds of GloVe itself, far above the null."""
    vectors = np.asarray(glove.vectors)
    rotated = (vectors.astype(np.float64) @ random_rotation(vectors.shape[1], 1)).astype(np.float32)
    assert not dimension_word_set(vectors) & dimension_word_set(rotated)
    ceiling = _matched(glove_codes, ("glove", 1), ("glove", 2))
    across = _matched(glove_codes, ("glove", 1), ("rotated", 2))
    assert across >= ceiling - 0.1
    # with the same seed the dictionary is the rotated dictionary: the same features exactly
    assert _matched(glove_codes, ("glove", 1), ("rotated", 1)) > 0.999
    null, _ = kernels.shuffled_matching_null(glove_codes["glove", 1][1], glove_codes["rotated", 2][1], 5, 0, 0.5)
    assert across > null.mean() + 10 * null.std(ddof=1)
    # two seeds agree on many atoms by decoder cosine: the ceiling is a ceiling of something
    cosines = kernels.match(kernels.decoder_cosines(glove_codes["glove", 1][0], glove_codes["glove", 2][0])).values
    assert cosines.mean() > 0.5


@pytest.fixture(scope="module")
def feature_db(tmp_path_factory):
    """GloVe's first 5,000 words, two seeds, a rotation, matched through the CLI."""
    db = tmp_path_factory.mktemp("features") / "features.duckdb"
    settings = ["--atoms", str(ATOMS), "--words", str(WORDS)]
    assert main(["--db", str(db), "ingest", "pretrained", "glove-wiki-gigaword-50", "--limit", "5000",
                 "--label", "g5k", "--no-mlflow", "--pairs", "king:queen"]) == 0
    assert main(["--db", str(db), "features", "g5k", "--seeds", "1", "2", *settings]) == 0
    assert main(["--db", str(db), "ingest", "control", "rotate", "--of", "g5k", "--seed", "1", "--no-mlflow",
                 "--pairs", "king:queen"]) == 0
    assert main(["--db", str(db), "features", "g5k_rot1", *settings]) == 0
    assert main(["--db", str(db), "match-features", "g5k", "g5k_rot1", "--permutations", "5", *settings]) == 0
    return db


def test_feature_universality_for_the_rotation(feature_db):
    (found,) = rows(feature_db, "SELECT * FROM feature_universality")
    assert (found["label_a"], found["label_b"], found["n_words"]) == ("g5k", "g5k_rot1", 5000)
    assert found["mean_matched_correlation"] >= found["seed_ceiling"] - 0.1
    assert found["z"] > 10 and found["p_value"] == pytest.approx(1 / 6)
    (stability,) = rows(feature_db, "SELECT * FROM feature_stability")
    assert stability["mean_matched_correlation"] == pytest.approx(found["seed_ceiling"])
    assert 0 < stability["mean_matched_cosine"] <= 1
    matched = rows(feature_db, "SELECT * FROM matched_features WHERE label_b = 'g5k_rot1'")
    assert len(matched) == ATOMS and all(len(m["top_words_a"]) == 10 for m in matched)
    best = max(matched, key=lambda m: m["correlation"])
    assert best["shared_top_words"] == len(set(best["top_words_a"]) & set(best["top_words_b"]))


def test_views_against_numpy(feature_db):
    from polyuni_db.features import feature_dictionary

    dictionary, nonzero = feature_dictionary(feature_db, "g5k", 1, _settings())
    loadings = dictionary ** 2
    expected = loadings.sum(axis=0) ** 2 / (loadings ** 2).sum(axis=0)
    found = rows(feature_db, "SELECT dimension, participation_ratio FROM dimension_polysemanticity "
                             "WHERE label = 'g5k' AND seed = 1 ORDER BY dimension")
    np.testing.assert_allclose([r["participation_ratio"] for r in found], expected, rtol=1e-5)
    words = rows(feature_db, "SELECT word, effective_atoms, n_atoms, n_senses FROM word_polysemy "
                             "WHERE feature_set_id = (SELECT feature_set_id FROM feature_set_summary "
                             "WHERE label = 'g5k' AND seed = 1) AND word IN ('bank', 'run')")
    assert len(words) == 2
    from nltk.corpus import wordnet

    for word in words:
        coefficients = np.array([r["coefficient"] for r in rows(feature_db, """
            SELECT coefficient FROM word_features JOIN feature_set_summary USING (feature_set_id)
            WHERE label = 'g5k' AND seed = 1 AND word = ?""", word["word"])])
        assert word["n_atoms"] == nonzero
        assert word["effective_atoms"] == pytest.approx((coefficients ** 2).sum() ** 2 / (coefficients ** 4).sum(), rel=1e-5)
        assert word["n_senses"] == len(wordnet.synsets(word["word"]))
    (scores,) = rows(feature_db, "SELECT * FROM feature_set_summary WHERE label = 'g5k' AND seed = 1")
    assert scores["n_encoded"] == 5000 and scores["n_fit"] == WORDS and 0 < scores["explained_variance"] < 1
    quality = rows(feature_db, "SELECT * FROM atom_quality WHERE label = 'g5k' AND seed = 1")
    assert len(quality) == ATOMS and all(0 < q["supersense_purity"] <= 1 for q in quality if q["n_wordnet_words"])


def _settings():
    from polyuni_db.features import FeatureSettings

    return FeatureSettings(ATOMS, 5, WORDS)


def test_stored_feature_sets_are_skipped_and_force_replaces(feature_db, capsys):
    settings = ["--atoms", str(ATOMS), "--words", str(WORDS)]
    query = "SELECT feature_set_id, fingerprint FROM feature_set_summary WHERE label = 'g5k' AND seed = 1"
    before = rows(feature_db, query)
    assert main(["--db", str(feature_db), "features", "g5k", *settings]) == 0
    assert "already stored" in capsys.readouterr().out
    assert main(["--db", str(feature_db), "features", "g5k", "--force", *settings]) == 0
    after = rows(feature_db, query)
    assert [r["fingerprint"] for r in after] == [r["fingerprint"] for r in before]
    assert after[0]["feature_set_id"] != before[0]["feature_set_id"]
    # the stability match of that feature set went with it (a new one comes with the next seed pair)
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_stability") == [{"n": 0}]


@pytest.mark.parametrize("args, message", [
    (["features", "nope"], "no run labelled 'nope'"),
    (["features", "g5k", "--atoms", "0"], "--atoms must be at least 1"),
    (["features", "g5k", "--nonzero", "51"], "between 1 and g5k's 50 dimensions"),
    (["features", "g5k", "--atoms", "64", "--words", "10"], "fewer than --atoms 64"),
    (["features", "g5k", "--atoms", "6000", "--words", "9000"], "5000 trained words with a direction"),
    (["match-features", "g5k", "g5k_rot1", "--atoms", "9"], "no feature set with 9 atoms"),
])
def test_bad_input_is_one_line_and_writes_nothing(feature_db, capsys, args, message):
    before = rows(feature_db, "SELECT count(*) AS n FROM feature_sets")
    assert main(["--db", str(feature_db), *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("polyuni: error: ") and message in error and error.count("\n") == 1
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_sets") == before


def test_runs_sharing_fewer_words_than_atoms_and_lost_vectors(tmp_path, glove, capsys):
    db = tmp_path / "few.duckdb"
    vectors = np.asarray(glove.vectors)
    rng = np.random.default_rng(0)
    lines = [f"{w} " + " ".join(f"{v:.5f}" for v in vectors[i]) for i, w in enumerate(glove.words[:25])]
    lines += [f"madeup{i} " + " ".join(f"{v:.5f}" for v in rng.standard_normal(50)) for i in range(60)]
    (tmp_path / "other.txt").write_text("\n".join(lines) + "\n")
    common = ["--no-mlflow", "--pairs", "king:queen"]
    assert main(["--db", str(db), "ingest", "pretrained", "glove-wiki-gigaword-50", "--limit", "300", "--label", "a", *common]) == 0
    assert main(["--db", str(db), "ingest", "file", str(tmp_path / "other.txt"), "--format", "glove-text", "--label", "b", *common]) == 0
    settings = ["--atoms", "30", "--words", "60"]
    assert main(["--db", str(db), "features", "a", "b", *settings]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "match-features", "a", "b", *settings]) == 1
    assert capsys.readouterr().err == "polyuni: error: a and b share 25 words: fewer than the 30 atoms to match\n"
    assert rows(db, "SELECT count(*) AS n FROM feature_match_scores") == [{"n": 0}]
    with duckdb.connect(str(db)) as connection:  # b has lost its kept vectors
        connection.execute("UPDATE runs SET vectors_path = NULL WHERE label = 'b'")
    assert main(["--db", str(db), "features", "b", "--seeds", "2", *settings]) == 1
    assert "stored without its vectors" in capsys.readouterr().err


def _features_in_child(argv: list[str], stderr_fd: int) -> None:
    os.dup2(stderr_fd, 2)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    main(argv)


def test_a_killed_features_command_leaves_no_feature_set(feature_db, monkeypatch):
    """Killed with every row written but not committed (a forked child: WordNet is already loaded)."""
    import multiprocessing

    monkeypatch.setenv("POLYUNI_TEST_HOLD_WRITE", "30")
    read_end, write_end = os.pipe()
    argv = ["--db", str(feature_db), "features", "g5k_rot1", "--seeds", "3", "--atoms", "16", "--words", "1000"]
    child = multiprocessing.get_context("fork").Process(target=_features_in_child, args=(argv, write_end))
    child.start()
    os.close(write_end)
    with os.fdopen(read_end) as stderr:
        line = ""
        deadline = time.monotonic() + 120
        while "holding the write transaction open" not in line and time.monotonic() < deadline:
            line = stderr.readline()
            if not line:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert "holding" in line
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_sets WHERE atoms = 16") == [{"n": 0}]
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_sets WHERE status <> 'complete'") == [{"n": 0}]


def test_the_report_shows_the_features_section(feature_db, tmp_path):
    from polyuni_db.report import render_report

    page = render_report(feature_db, tmp_path / "out").read_text(encoding="utf-8")
    section = page[page.index('id="features"'):]
    section = section[:section.index("</section>")]
    assert "Features: polysemanticity without a basis" in section
    assert "g5k_rot1" in section and "seed ceiling" in section and section.count("<img") >= 2
