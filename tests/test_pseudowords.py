"""Planted polysemy: the corpus transform, the recovery measures (against synthetic cases whose answer
is known, and scipy), the tables and views, bad input and the report section."""
from __future__ import annotations

import math
from collections import Counter

import duckdb
import numpy as np
import pytest
from scipy.stats import spearmanr

from polyuni_db.analysis.pseudowords import (
    PlantedPair, align, beta_trend, feature_recovery, matched_atoms, measure, span_fit,
)
from polyuni_db.analysis.similarity import random_rotation
from polyuni_db.cli import main
from polyuni_db.errors import PolyuniError
from polyuni_db.sources.corpora import Corpus, load_corpus
from polyuni_db.sources.pseudowords import plant_pseudowords
from polyuni_db.sources.trained import TrainedSource, TrainParams


def rows(db, sql, *parameters):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def tiny_corpus() -> Corpus:
    """Forty words counted 3 to 42 times, plus frequent filler and a number."""
    sentences = []
    for i in range(40):
        for _ in range(3 + i):
            sentences.append([f"x{chr(97 + i // 26)}{chr(97 + i % 26)}", "the", "2"])
    return Corpus("tiny", sentences, "whitespace")


# --- the corpus transform -------------------------------------------------------------------------

def test_planting_replaces_every_occurrence_of_disjoint_random_pairs():
    corpus = tiny_corpus()
    counts = Counter(t for s in corpus.sentences for t in s)
    planted = plant_pseudowords(corpus, 5, seed=3, count_range=(10, 30))
    assert planted.name == "tiny_pw5s3" and planted.base is corpus and len(planted.pseudowords) == 5
    words = [w for p in planted.pseudowords for w in (p.word_a, p.word_b)]
    assert len(set(words)) == 10 and all(10 <= counts[w] <= 30 and w.isalpha() for w in words)
    after = Counter(t for s in planted.sentences for t in s)
    for p in planted.pseudowords:
        assert p.token == f"{p.word_a}+{p.word_b}" and (p.count_a, p.count_b) == (counts[p.word_a], counts[p.word_b])
        assert after[p.token] == p.count_a + p.count_b and after[p.word_a] == after[p.word_b] == 0
    assert after["the"] == counts["the"] and planted.n_tokens == corpus.n_tokens
    # the seed decides the pairs, and the transform enters the spec (hence the fingerprint)
    assert plant_pseudowords(corpus, 5, seed=3, count_range=(10, 30)).pseudowords == planted.pseudowords
    other = plant_pseudowords(corpus, 5, seed=4, count_range=(10, 30))
    assert other.pseudowords != planted.pseudowords
    assert planted.spec()["transform"] == {"kind": "pseudowords", "n": 5, "seed": 3, "counts": [10, 30], "merge": []}
    assert planted.spec() != other.spec() and "transform" not in corpus.spec()
    assert TrainedSource(planted, 8, 1).default_label() == "tiny_pw5s3_8"


def test_merge_chosen_pairs_with_random_ones():
    corpus = tiny_corpus()
    planted = plant_pseudowords(corpus, 2, seed=1, count_range=(3, 42), merge=[("xaa", "xab")])
    assert planted.pseudowords[0].token == "xaa+xab" and len(planted.pseudowords) == 3
    assert "xaa" not in {w for p in planted.pseudowords[1:] for w in (p.word_a, p.word_b)}
    assert planted.name.startswith("tiny_pw2s1m")
    only = plant_pseudowords(corpus, merge=[("xaa", "xab")])
    assert only.spec()["transform"]["seed"] is None and only.name.startswith("tiny_pwm")


@pytest.mark.parametrize("arguments, message", [
    (dict(n=30, count_range=(10, 30)), "need 60 words counted 10 to 30 times; the corpus has 21"),
    (dict(merge=[("xaa", "nowhere")]), "--merge word 'nowhere' does not occur"),
    (dict(merge=[("xaa", "xab"), ("xac", "xaa")]), "word 'xaa' is in two pseudoword pairs"),
    (dict(merge=[("the", "2")]), "token 'the+2' already occurs"),
    (dict(n=2, count_range=(30, 10)), "the minimum is above the maximum"),
])
def test_bad_plantings_are_refused(arguments, message):
    corpus = tiny_corpus()
    if "the+2" in message:
        corpus = Corpus("tiny", corpus.sentences + [["the+2"]], "whitespace")
    with pytest.raises(PolyuniError, match=message.replace("+", r"\+")):
        plant_pseudowords(corpus, **arguments)


# --- the measures ---------------------------------------------------------------------------------

def test_span_fit_is_least_squares_on_the_two_vectors():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(20), rng.standard_normal(20)
    exact = span_fit(1.0 * a + 0.4 * b, a, b)
    assert exact.span_cosine == pytest.approx(1.0) and exact.first == pytest.approx(1.0) and exact.second == pytest.approx(0.4)
    v = rng.standard_normal(20)
    fit = span_fit(v, a, b)
    coefficients = np.linalg.pinv(np.stack([a, b], 1)) @ v  # the normal equations, another way
    projection = np.stack([a, b], 1) @ coefficients
    assert (fit.first, fit.second) == pytest.approx(tuple(coefficients))
    assert fit.span_cosine == pytest.approx(v @ projection / np.linalg.norm(v) / np.linalg.norm(projection))
    assert fit.span_cosine < 0.7  # a random 20-d vector is far from a random plane


def test_alignment_and_trend_match_references():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 12))
    rotation = random_rotation(12, 5)
    np.testing.assert_allclose(align(x, x @ rotation), rotation, atol=1e-10)
    beta, ratio = rng.standard_normal(25), np.exp(rng.uniform(0, 3, 25))
    rho, p_value = beta_trend(beta, ratio)
    assert (rho, p_value) == pytest.approx(tuple(spearmanr(beta, np.log2(ratio))))
    assert beta_trend(-np.log(ratio), ratio)[0] == pytest.approx(-1.0)
    assert beta_trend(beta[:2], ratio[:2]) == (None, None)


def test_measure_recovers_a_planted_combination_and_not_its_null():
    """Reference: clustered words. Transformed run: the same words rotated, a and b removed and their
    token placed at v_a + beta v_b. Span cosine 1, alpha 1, beta as planted; v_ab - v_a lies along v_b,
    so the difference neighbours bring back b's neighbours exactly."""
    rng = np.random.default_rng(2)
    n, dim = 600, 16
    centres = rng.standard_normal((30, dim)) * 3
    reference = centres[np.arange(n) % 30] + 0.5 * rng.standard_normal((n, dim))
    counts = rng.integers(20, 400, n)
    pairs = [(0, 1, 0.8), (2, 3, 0.5), (4, 5, 0.2), (6, 7, 0.6)]  # rows a, b (different clusters), beta
    merged = {i for a, b, _ in pairs for i in (a, b)}
    anchors = np.array([i for i in range(n) if i not in merged])
    rotation = random_rotation(dim, 7)
    tokens = np.array([reference[a] + beta * reference[b] for a, b, beta in pairs])
    transformed = np.vstack([reference[anchors], tokens]) @ rotation.T  # rows: anchors, then the tokens
    planted = [PlantedPair(len(anchors) + i, a, b, int(counts[a]) + 500, int(counts[b])) for i, (a, b, _) in enumerate(pairs)]
    found = measure(transformed, reference, np.arange(len(anchors)), anchors, counts[anchors], planted, null_seed=1)
    assert found.n_aligned == len(anchors) and found.alignment_cosine == pytest.approx(1.0)
    for fit, (_, _, beta) in zip(found.fits, pairs):
        assert fit["span_cosine"] == pytest.approx(1.0) and fit["alpha"] == pytest.approx(1.0)
        assert fit["beta"] == pytest.approx(beta)
        assert fit["null_span_cosine"] < 0.95 and fit["null_word_a"] != fit["null_word_b"]
    difference = [row for row in found.instruments if row["instrument"] == "difference_neighbours"]
    assert len(difference) == len(pairs) and all(row["recovered"] for row in difference)
    assert all(row["hits_b"] == 10 for row in difference)  # v_ab - v_a = beta v_b: b's own neighbours
    assert sum(row["null_recovered"] for row in difference) == 0
    # the same null pairs for every run with these anchors
    again = measure(transformed, reference, np.arange(len(anchors)), anchors, counts[anchors], planted, null_seed=1)
    assert [f["null_word_a"] for f in again.fits] == [f["null_word_a"] for f in found.fits]


def test_feature_recovery_finds_the_atoms_of_both_words_and_not_the_nulls():
    """Reference words are 2-atom combinations of a random dictionary; the planted run is the
    reference rotated, its dictionary the reference's rotated (so every atom matches its own at
    cosine 1), and a+b placed at v_a + v_b: the pseudoword uses a's two atoms and b's two. Null pairs
    whose atoms the pseudoword does not use are never recovered; an unrelated dictionary matches nothing."""
    rng = np.random.default_rng(5)
    n, dim, n_atoms = 300, 32, 40
    atoms = rng.standard_normal((n_atoms, dim))
    atoms /= np.linalg.norm(atoms, axis=1, keepdims=True)
    used = np.array([rng.choice(n_atoms, 2, replace=False) for _ in range(n)])
    reference = np.einsum("nk,nkd->nd", rng.uniform(1, 2, (n, 2)), atoms[used])
    disjoint = lambda rows: len({int(a) for r in rows for a in used[r]}) == 2 * len(rows)
    pairs = [(a, b) for a, b in zip(range(0, 40, 2), range(1, 40, 2)) if disjoint([a, b])][:4]
    nulls = [next((c, d) for c in range(50, n) for d in range(c + 1, n) if disjoint([a, b, c, d])) for a, b in pairs]
    rotation = random_rotation(dim, 3)
    tokens = np.array([reference[a] + reference[b] for a, b in pairs])
    transformed = np.vstack([reference, tokens]) @ rotation.T
    planted = [PlantedPair(n + i, a, b, 100, 50) for i, (a, b) in enumerate(pairs)]
    anchors = np.arange(50, n)
    found = feature_recovery(transformed, reference, anchors, anchors, atoms @ rotation.T, 4, atoms, 2, planted, nulls)
    assert len(found) == len(pairs) and {row["instrument"] for row in found} == {"feature_atoms"}
    assert all(row["hits_a"] == 2 and row["hits_b"] == 2 and row["recovered"] for row in found)
    assert not any(row["null_hits_a"] or row["null_hits_b"] or row["null_recovered"] for row in found)
    # atoms matched by decoder cosine after the alignment: each to itself, an unrelated one to none
    assert list(matched_atoms(atoms @ rotation.T, atoms, align(transformed[anchors], reference[anchors]))) == list(range(n_atoms))
    unrelated = rng.standard_normal((n_atoms, dim))
    assert (matched_atoms(unrelated, atoms, np.eye(dim)) == -1).all()  # none reaches ATOM_MATCH_COSINE
    found = feature_recovery(transformed, reference, anchors, anchors, unrelated, 4, atoms, 2, planted, nulls)
    assert not any(row["recovered"] or row["hits_a"] or row["hits_b"] for row in found)


# --- end to end -----------------------------------------------------------------------------------

TEMPLATE = "{corpus}_{dim}_e1_s{seed}"


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory):
    """lee_background with 6 pseudowords at 8 dimensions, seeds 1 and 2, one epoch: four trainings,
    labelled by a template that names the references too."""
    db = tmp_path_factory.mktemp("planted") / "planted.duckdb"
    assert main(["--db", str(db), "ingest", "train", "--corpus", "lee_background", "--dims", "8", "--seeds", "1", "2",
                 "--epochs", "1", "--pseudowords", "6", "--no-mlflow", "--label", TEMPLATE]) == 0
    return db


def test_cli_stores_pseudowords_their_reference_and_recovery(planted_db, capsys):
    labels = {row["label"] for row in rows(planted_db, "SELECT label FROM runs")}
    assert labels == {"lee_background_8_e1_s1", "lee_background_8_e1_s2", "lee_background_pw6s1_8_e1_s1",
                      "lee_background_pw6s1_8_e1_s2"}
    planted = rows(planted_db, "SELECT * FROM pseudowords JOIN runs USING (run_id) WHERE label = 'lee_background_pw6s1_8_e1_s1'")
    assert len(planted) == 6
    corpus = plant_pseudowords(load_corpus("lee_background"), 6, 1)
    assert {(p["token"], p["count_a"], p["count_b"]) for p in planted} == {
        (p.token, p.count_a, p.count_b) for p in corpus.pseudowords}
    recovery = rows(planted_db, "SELECT * FROM pseudoword_recovery ORDER BY label, token")
    assert len(recovery) == 12 and {r["reference_label"] for r in recovery} == {"lee_background_8_e1_s1", "lee_background_8_e1_s2"}
    for row in recovery:  # the view's arithmetic, by hand
        high, low = max(row["count_a"], row["count_b"]), min(row["count_a"], row["count_b"])
        assert row["frequency_ratio"] == pytest.approx(high / low) and row["lg_ratio"] == pytest.approx(math.log2(high / low))
        assert row["arora_beta"] == pytest.approx(1 - 0.5 * math.log2(high / low))
        assert row["frequent_word"] == (row["word_a"] if row["count_a"] >= row["count_b"] else row["word_b"])
        assert -1 <= row["span_cosine"] <= 1 and row["null_word_a"] not in (row["word_a"], row["word_b"])
    summary = rows(planted_db, "SELECT * FROM pseudoword_summary ORDER BY seed")
    for run in summary:
        mine = [r for r in recovery if r["label"] == run["label"]]
        rho = spearmanr([r["beta"] for r in mine], [r["lg_ratio"] for r in mine]).statistic
        assert run["beta_spearman_rho"] == pytest.approx(rho)
        assert run["mean_span_cosine"] == pytest.approx(np.mean([r["span_cosine"] for r in mine]))
        assert run["sd_span_cosine"] == pytest.approx(np.std([r["span_cosine"] for r in mine], ddof=1))
    instruments = rows(planted_db, "SELECT * FROM pseudoword_instrument_recovery")
    assert {r["instrument"] for r in instruments} == {"difference_neighbours", "dimension_words"} and len(instruments) == 4
    raw = rows(planted_db, "SELECT * FROM pseudoword_instruments")
    for view in instruments:  # the view's shares and means, by hand from the table
        mine = [r for r in raw if r["run_id"] == view["run_id"] and r["instrument"] == view["instrument"]]
        assert view["n_pseudowords"] == len(mine) == 6
        assert view["share_both_senses"] == pytest.approx(np.mean([r["hits_a"] > 0 and r["hits_b"] > 0 for r in mine]))
        assert view["null_share_one_sense"] == pytest.approx(np.mean([r["null_hits_a"] > 0 or r["null_hits_b"] > 0 for r in mine]))
        assert view["mean_hits_per_sense"] == pytest.approx(np.mean([r["hits_a"] + r["hits_b"] for r in mine]) / 2)
    agreement = rows(planted_db, "SELECT * FROM pseudoword_seed_agreement")
    assert len(agreement) == 12 and all(r["n_runs"] == 2 for r in agreement)
    both = rows(planted_db, "SELECT token, instrument, bool_and(recovered) AS every, avg(recovered::INT) AS share, "
                "count(DISTINCT f.null_word_a) AS null_pairs FROM pseudoword_instruments "
                "JOIN pseudoword_fits AS f USING (run_id, token) GROUP BY token, instrument")
    by_key = {(r["token"], r["instrument"]): r for r in agreement}
    for row in both:
        assert by_key[(row["token"], row["instrument"])]["in_every_run"] == row["every"]
        assert by_key[(row["token"], row["instrument"])]["share_of_runs"] == pytest.approx(row["share"])
        assert row["null_pairs"] == 1  # the same null pair in every seed

    # a second time: every run skipped, the same rows
    before = rows(planted_db, "SELECT * FROM pseudoword_fits ORDER BY run_id, token")
    capsys.readouterr()
    assert main(["--db", str(planted_db), "ingest", "train", "--corpus", "lee_background", "--dims", "8",
                 "--epochs", "1", "--pseudowords", "6", "--no-mlflow", "--label", TEMPLATE]) == 0
    assert capsys.readouterr().out.count("already stored") == 2
    assert rows(planted_db, "SELECT * FROM pseudoword_fits ORDER BY run_id, token") == before


def test_features_of_a_planted_run_and_its_reference_fill_the_features_instrument(planted_db, capsys):
    """`polyuni features` on a planted run and its reference adds the feature_atoms rows, beside the
    same null pairs as the other instruments; the view counts them as it counts the others."""
    capsys.readouterr()
    assert main(["--db", str(planted_db), "features", "lee_background_8_e1_s1", "lee_background_pw6s1_8_e1_s1",
                 "--nonzero", "2", "--words", "400"]) == 0
    out = capsys.readouterr().out
    assert "lee_background_pw6s1_8_e1_s1: features find both senses of " in out and " of 6 pseudowords" in out
    raw = rows(planted_db, "SELECT i.*, label FROM pseudoword_instruments AS i JOIN runs USING (run_id) "
               "WHERE instrument = 'feature_atoms'")
    assert len(raw) == 6 and {r["label"] for r in raw} == {"lee_background_pw6s1_8_e1_s1"}
    for row in raw:
        assert row["recovered"] == (row["hits_a"] > 0 and row["hits_b"] > 0) and 0 <= row["hits_a"] <= 2
        assert row["null_recovered"] == (row["null_hits_a"] > 0 and row["null_hits_b"] > 0)
    view = rows(planted_db, "SELECT * FROM pseudoword_instrument_recovery WHERE instrument = 'feature_atoms'")
    assert len(view) == 1 and view[0]["share_both_senses"] == pytest.approx(np.mean([r["recovered"] for r in raw]))
    assert view[0]["mean_hits_per_sense"] == pytest.approx(np.mean([r["hits_a"] + r["hits_b"] for r in raw]) / 2)
    # the seed-2 run's reference has no feature set: no rows for it, and nothing else changed
    assert len(rows(planted_db, "SELECT * FROM pseudoword_instruments WHERE instrument <> 'feature_atoms'")) == 24


def test_the_study_fits_a_planted_run_whose_reference_it_fitted(planted_db):
    """The controls preset's wiring, at a small size: the seed-1 planted run gets a feature set because
    its reference got one, and its features instrument is recorded; the seed-2 one (reference not
    fitted, as the preset skips _s2 runs) gets neither."""
    from polyuni_db.derived.instruments import _features, instruments_on
    from polyuni_db.runs.sweep import FeatureSection

    small = FeatureSection(nonzero=2, words=300, exclude=["*_s2", "*_s3"])  # as the controls preset
    with duckdb.connect(str(planted_db)) as connection:  # the rows of the test above, so that these are new
        connection.execute("DELETE FROM pseudoword_instruments WHERE instrument = 'feature_atoms'")
    planted = [("lee_background_pw6s1_8_e1_s1", "lee_background_8_e1_s1"),
               ("lee_background_pw6s1_8_e1_s2", "lee_background_8_e1_s2")]
    with instruments_on(planted_db) as instruments:
        _features(instruments, small, ["lee_background_8_e1_s1", "lee_background_8_e1_s2"], planted)
    fitted = rows(planted_db, "SELECT DISTINCT label FROM feature_sets JOIN runs USING (run_id) WHERE words = 300 "
                  "ORDER BY label")
    assert [r["label"] for r in fitted] == ["lee_background_8_e1_s1", "lee_background_pw6s1_8_e1_s1"]
    filled = rows(planted_db, "SELECT DISTINCT label FROM pseudoword_instruments JOIN runs USING (run_id) "
                  "WHERE instrument = 'feature_atoms'")
    assert [r["label"] for r in filled] == ["lee_background_pw6s1_8_e1_s1"]


@pytest.mark.parametrize("extra, message", [
    (["--pseudowords", "5000"], "5000 pseudowords need 10000 words counted 50 to 1000 times; the corpus has 128"),
    (["--merge", "hospital:zzzq"], "--merge word 'zzzq' does not occur in corpus 'lee_background'"),
    (["--merge", "hospital:police", "police:fire"], "word 'police' is in two pseudoword pairs"),
    (["--pseudowords", "2", "--reference", "nothing"], "no run labelled 'nothing'"),
    (["--reference", "lee_background_8"], "--reference is for runs with --pseudowords or --merge"),
    (["--pseudowords", "2", "--label", "mine_{dim}"], "--label 'mine_{dim}' needs {corpus}: the reference run"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    db = tmp_path / "bad.duckdb"
    assert main(["--db", str(db), "ingest", "train", "--corpus", "lee_background", "--dims", "8",
                 "--no-mlflow", *extra]) == 1
    error = capsys.readouterr().err
    assert error.startswith("polyuni: error: ") and message in error and error.count("\n") == 1
    assert not db.exists()


def test_a_token_that_exists_is_refused(tmp_path, capsys):
    corpus = tmp_path / "tokens.txt"
    corpus.write_text("foo bar baz\nfoo+bar baz\n")
    db = tmp_path / "bad.duckdb"
    assert main(["--db", str(db), "ingest", "train", "--corpus", str(corpus), "--dims", "2",
                 "--merge", "foo:bar", "--no-mlflow"]) == 1
    assert capsys.readouterr().err == "polyuni: error: pseudoword token 'foo+bar' already occurs in corpus 'tokens'\n"
    assert not db.exists()


def test_report_shows_the_section(planted_db, tmp_path):
    from polyuni_db.report import render_report

    html = render_report(planted_db, tmp_path / "out").read_text()
    section = html[html.index('<section id="planted">'):]
    section = section[:section.index("</section>")]
    assert "Ground truth: planted polysemy" in section and section.count("<img") == 2
    assert "difference_neighbours" in section and "lee_background_pw6s1_8_e1_s2" in section
    assert "feature_atoms" in section  # filled by the features test above
    assert "FROM pseudoword_summary" in section and "No run with planted pseudowords" not in section


def test_replacing_the_reference_drops_what_was_measured_against_it(planted_db):
    """Last in this file: it changes the shared database."""
    from polyuni_db.runs.pipeline import ingest

    ingest(TrainedSource(load_corpus("lee_background"), 8, 2, TrainParams(epochs=1)), planted_db,
           label="lee_background_8_e1_s2", track=False, force=True)
    left = rows(planted_db, "SELECT DISTINCT label FROM pseudoword_fits JOIN runs USING (run_id)")
    assert [r["label"] for r in left] == ["lee_background_pw6s1_8_e1_s1"]
    assert len(rows(planted_db, "SELECT * FROM pseudowords")) == 12  # the planted words stay with their runs


def test_the_controls_preset_plants_fifty_pseudowords_in_brown_at_each_seed():
    from polyuni_db.study import plan

    planted = {p.label: p.reference for p in plan("controls") if p.reference}
    assert planted == {"brown_pw50s1_50": "brown_50", "brown_pw50s1_50_s2": "brown_50_s2",
                       "brown_pw50s1_50_s3": "brown_50_s3"}
    labels = [p.label for p in plan("controls")]
    assert all(labels.index(reference) < labels.index(label) for label, reference in planted.items())
