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

ATOMS, WORDS = 64, 2_000  # small settings (ATOMS: the overcomplete dictionary's): each feature set takes seconds


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


def test_omp_survives_duplicate_atoms_and_more_steps_than_atoms():
    """A singular sub-Gram (two equal atoms) gets the minimum-norm least squares, not a LinAlgError."""
    rng = np.random.default_rng(4)
    atom = kernels.unit_rows(rng.standard_normal((1, 6)))
    dictionary = np.vstack([atom, atom, kernels.unit_rows(rng.standard_normal((1, 6)))])
    x = kernels.unit_rows(rng.standard_normal((20, 6)))
    codes = kernels.encode(x, dictionary, 3).toarray()
    reconstruction = codes @ dictionary
    best = x @ np.linalg.pinv(dictionary) @ dictionary  # projection on the span of the atoms
    np.testing.assert_allclose(reconstruction, best, atol=1e-8)


def test_independent_components_reproduce_and_are_scored(glove_words):
    """Two feature sets of GloVe from independent seeds: their reproducible atoms agree far better
    than the overcomplete dictionary's (the issue measured 0.16 to 0.29 by activation |r|)."""
    first = kernels.fit_reproducible_atoms(glove_words, 20, seed=1, fits=3)
    again = kernels.fit_reproducible_atoms(glove_words, 20, seed=1, fits=3)
    np.testing.assert_allclose(first.dictionary, again.dictionary, atol=1e-12)  # a seed is a seed
    other = kernels.fit_reproducible_atoms(glove_words, 20, seed=2, fits=3)
    assert set(np.unique(first.reproducibility)) <= {1 / 3, 2 / 3, 1.0}
    assert ((first.reappear_cosine > 0) & (first.reappear_cosine <= 1 + 1e-12)).all()
    np.testing.assert_allclose(np.linalg.norm(first.dictionary, axis=1), 1.0)
    keep_a, keep_b = (np.flatnonzero(kernels.reproducible(atoms.reproducibility)) for atoms in (first, other))
    assert keep_a.size >= 5
    codes_a = kernels.encode(glove_words, first.dictionary, 5)
    codes_b = kernels.encode(glove_words, other.dictionary, 5)
    matched = kernels.match(kernels.activation_correlation(codes_a, codes_b)[np.ix_(keep_a, keep_b)])
    assert matched.values.mean() > 0.5
    top_a = [set(r) for r in kernels.top_by_projection(glove_words, first.dictionary, 20)[0]]
    top_b = [set(r) for r in kernels.top_by_projection(glove_words, other.dictionary, 20)[0]]
    assert kernels.top_word_jaccard(top_a, top_b, keep_a[matched.atoms_a], keep_b[matched.atoms_b]) > 0.3
    projections = glove_words @ first.dictionary[0]
    assert set(top_a[0]) == set(np.argsort(-projections)[:20].tolist())


def test_matching_both_ways_keeps_each_sides_atoms():
    """Reproducible atoms are matched against every atom of the other set: matching the two kept
    subsets with each other would pair a's atom 1 with b's atom 2 at 0.0."""
    similarity = np.array([[0.1, 0.2, 0.0], [0.9, 0.1, 0.0], [0.1, -0.8, 0.3]])
    keep_a, keep_b = np.array([1]), np.array([2])
    from_a, from_b = kernels.match_both_ways(similarity, keep_a, keep_b)
    assert (from_a.atoms_b.tolist(), from_b.atoms_b.tolist()) == ([0], [2])
    value, above = kernels.both_ways_score(similarity, keep_a, keep_b, 0.5)
    assert value == pytest.approx((0.9 + 0.3) / 2) and above == 0.5
    assert kernels.match(similarity[np.ix_(keep_a, keep_b)]).values.tolist() == [0.0]


def test_a_null_that_does_not_vary_gives_no_z():
    from polyuni_db.analysis.similarity import against_null

    scored = against_null(0.5, np.full(20, 0.25) + np.arange(20) * 1e-17)
    assert np.isnan(scored.calibrated) and scored.p_value == pytest.approx(1 / 21)
    assert np.isfinite(against_null(0.5, np.linspace(0, 0.3, 20)).calibrated)


SMALL = ["--words", str(WORDS)]


@pytest.fixture(scope="module")
def feature_db(tmp_path_factory):
    """GloVe's first 5,000 words, two seeds, a rotation with an independent seed and one sharing
    seed 1, matched through the CLI."""
    db = tmp_path_factory.mktemp("features") / "features.duckdb"
    assert main(["--db", str(db), "ingest", "pretrained", "glove-wiki-gigaword-50", "--limit", "5000",
                 "--label", "g5k", "--no-mlflow", "--pairs", "king:queen"]) == 0
    assert main(["--db", str(db), "features", "g5k", "--seeds", "1", "2", *SMALL]) == 0
    assert main(["--db", str(db), "ingest", "control", "rotate", "--of", "g5k", "--seed", "1", "--no-mlflow",
                 "--pairs", "king:queen"]) == 0
    assert main(["--db", str(db), "features", "g5k_rot1", "--seeds", "3", "1", *SMALL]) == 0
    assert main(["--db", str(db), "match-features", "g5k@1", "g5k_rot1@3", "g5k_rot1@1", "--permutations", "5",
                 *SMALL]) == 0
    return db


def test_feature_universality_for_the_rotation(feature_db):
    found = {r["seed_b"]: r for r in rows(feature_db, "SELECT * FROM feature_universality WHERE label_a = 'g5k'")}
    independent, shared = found[3], found[1]
    assert (independent["label_b"], independent["n_words"]) == ("g5k_rot1", 5000)
    assert not independent["shared_initialization"] and shared["shared_initialization"]
    stability = {r["label"]: r for r in rows(feature_db, "SELECT * FROM feature_stability")}
    ceilings = sorted([stability["g5k"]["mean_matched_correlation"], stability["g5k_rot1"]["mean_matched_correlation"]])
    assert independent["seed_ceiling"] == pytest.approx(ceilings[0])
    assert sorted([independent["seed_ceiling_a"], independent["seed_ceiling_b"]]) == pytest.approx(ceilings)
    assert independent["mean_matched_correlation"] >= independent["seed_ceiling"] - 0.1
    assert independent["z"] > 10 and independent["p_value"] == pytest.approx(1 / 6)
    assert independent["p_value_is_bound"] and independent["p_value_text"] == "< 0.1667"
    assert 0 < stability["g5k"]["top_word_jaccard"] <= 1 and 0 < stability["g5k"]["mean_matched_cosine"] <= 1
    reproducible = rows(feature_db, "SELECT count(*) AS n FROM atom_quality WHERE label = 'g5k' AND seed = 1 "
                                    "AND reproducible")[0]["n"]
    assert independent["n_atoms_a"] == reproducible > 0
    matched = rows(feature_db, "SELECT * FROM matched_features WHERE label_a = 'g5k' AND label_b = 'g5k_rot1' AND seed_b = 3")
    assert len(matched) == independent["n_atoms_a"]  # each reproducible atom of a, against every atom of b
    assert all(len(m["top_words_a"]) == 20 and not m["shared_initialization"] for m in matched)
    best = max(matched, key=lambda m: m["correlation"])
    assert best["shared_top_words"] == len(set(best["top_words_a"]) & set(best["top_words_b"]))
    from_a = np.mean([len(set(m["top_words_a"]) & set(m["top_words_b"])) / len(set(m["top_words_a"]) | set(m["top_words_b"]))
                      for m in matched])
    assert 0 < independent["top_word_jaccard"] <= 1 and 0 < from_a <= 1  # the stored one: both ways averaged


def test_views_against_numpy(feature_db):
    from polyuni_db.derived.features import feature_dictionary

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
    assert (scores["method"], scores["atoms"], scores["fits"]) == ("ica", 50, kernels.FITS)
    quality = rows(feature_db, "SELECT * FROM atom_quality WHERE label = 'g5k' AND seed = 1")
    assert len(quality) == 50 and all(0 < q["supersense_purity"] <= 1 for q in quality if q["n_wordnet_words"])
    assert all(q["reproducible"] == (q["reproducibility"] > 0.5) for q in quality)
    assert scores["n_reproducible"] == sum(q["reproducible"] for q in quality)


def _settings():
    from polyuni_db.derived.features import FeatureSettings

    return FeatureSettings(words=WORDS)


def test_stored_feature_sets_are_skipped_and_force_replaces_with_its_matches(feature_db, capsys):
    query = "SELECT feature_set_id, fingerprint FROM feature_set_summary WHERE label = 'g5k' AND seed = 1"
    before = rows(feature_db, query)
    matches = "SELECT label_b, seed_b, mean_matched_correlation FROM feature_universality ORDER BY seed_b"
    matched_before = rows(feature_db, matches)
    assert main(["--db", str(feature_db), "features", "g5k", *SMALL]) == 0
    assert "already stored" in capsys.readouterr().out
    assert main(["--db", str(feature_db), "match-features", "g5k@1", "g5k_rot1@3", "--permutations", "5", *SMALL]) == 0
    assert "matched before with these settings" in capsys.readouterr().out
    assert main(["--db", str(feature_db), "features", "g5k", "--force", *SMALL]) == 0
    out = capsys.readouterr().out
    after = rows(feature_db, query)
    assert [r["fingerprint"] for r in after] == [r["fingerprint"] for r in before]
    assert after[0]["feature_set_id"] != before[0]["feature_set_id"]
    assert f"replaced feature set {before[0]['feature_set_id']}" in out
    for name in ("g5k@1 ~ g5k@2", "g5k@1 ~ g5k_rot1@3", "g5k@1 ~ g5k_rot1@1"):
        assert name in out  # each match it took part in, named and recomputed
    matched_after = rows(feature_db, matches)
    assert [(r["label_b"], r["seed_b"]) for r in matched_after] == [(r["label_b"], r["seed_b"]) for r in matched_before]
    assert [r["mean_matched_correlation"] for r in matched_after] == pytest.approx(
        [r["mean_matched_correlation"] for r in matched_before], abs=1e-6)
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_stability WHERE label = 'g5k'") == [{"n": 1}]


def test_a_feature_set_stored_meanwhile_by_another_process_is_kept(feature_db, monkeypatch, capsys):
    """Two `polyuni features` at once: the one that finishes second keeps the first's feature set."""
    import polyuni_db.derived.features as features

    query = "SELECT feature_set_id FROM feature_set_summary WHERE label = 'g5k' AND seed = 2"
    before = rows(feature_db, query)
    monkeypatch.setattr(features, "stored_feature_set", lambda *args: None)  # it looked before the other wrote
    assert main(["--db", str(feature_db), "features", "g5k", "--seeds", "2", *SMALL]) == 0
    assert "by another polyuni while this one computed it; kept" in capsys.readouterr().out
    assert rows(feature_db, query) == before


def test_an_interrupted_feature_set_leaves_no_dictionary_file(feature_db, monkeypatch, capsys):
    import polyuni_db.derived.features as features
    from polyuni_db.store.vectors import vectors_folder

    files = sorted(vectors_folder(feature_db).iterdir())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(features, "write_feature_set", interrupted)
    assert main(["--db", str(feature_db), "features", "g5k", "--seeds", "7", *SMALL]) == 130
    assert sorted(vectors_folder(feature_db).iterdir()) == files
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["features", "nope"], "no run labelled 'nope'"),
    (["features", "g5k", "--atoms", "0"], "--atoms must be at least 1"),
    (["features", "g5k", "--atoms", "51"], "more than g5k's 50 dimensions"),
    (["features", "g5k", "--nonzero", "51"], "between 1 and g5k's 50 dimensions"),
    (["features", "g5k", "--nonzero", "3", "--atoms", "2"], "--nonzero 3 is more than --atoms 2"),
    (["features", "g5k", "--method", "omp", "--atoms", "64", "--words", "10"], "fewer than --atoms 64"),
    (["features", "g5k", "--method", "omp", "--atoms", "6000", "--words", "9000"], "5000 trained words with a direction"),
    (["match-features", "g5k", "g5k_rot1", "--atoms", "9"], "no ica feature set with 9 atoms"),
    (["match-features", "g5k@1", "g5k_rot1@9", *SMALL], "polyuni features g5k_rot1 --seeds 9"),
    (["match-features", "g5k@1", "g5k"], "at least two different feature sets"),
])
def test_bad_input_is_one_line_and_writes_nothing(feature_db, capsys, args, message):
    before = rows(feature_db, "SELECT count(*) AS n FROM feature_sets")
    assert main(["--db", str(feature_db), *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("polyuni: error: ") and message in error and error.count("\n") == 1
    assert rows(feature_db, "SELECT count(*) AS n FROM feature_sets") == before


@pytest.mark.parametrize("args", [["features", "g5k", "--seeds", "-1"], ["features", "g5k", "--seeds", "2147483648"],
                                  ["match-features", "g5k@x", "g5k_rot1"], ["match-features", "g5k@-1", "g5k_rot1"]])
def test_malformed_seeds_are_refused_before_any_work(feature_db, capsys, args):
    from polyuni_db.store.vectors import vectors_folder

    files = sorted(vectors_folder(feature_db).iterdir())
    with pytest.raises(SystemExit) as exit_status:
        main(["--db", str(feature_db), *args])
    assert exit_status.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("polyuni")
    assert sorted(vectors_folder(feature_db).iterdir()) == files


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
    argv = ["--db", str(feature_db), "features", "g5k_rot1", "--seeds", "5", "--atoms", "16", "--words", "1000"]
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
