"""Algorithm families (Word2Vec skip-gram and CBOW, fastText, PPMI-SVD) on the same corpora, the views
that break comparisons down by factor, effect sizes, and the report's "Data or algorithm?" section."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest
import scipy.sparse

from polyuni_db.analysis.ppmi import DENSE_SVD_ROWS, cooccurrence, ppmi, svd_embedding
from polyuni_db.cli import main
from polyuni_db.derived.instruments import compare
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import Corpus, load_corpus
from polyuni_db.sources.fasttext import FastTextSource, SubwordParams
from polyuni_db.sources.ppmi_svd import PpmiSvdSource
from polyuni_db.sources.trained import TrainedSource, TrainParams
from polyuni_db.sources.training import default_train_label


def rows(db, sql, *parameters):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def test_ppmi_of_a_hand_counted_corpus():
    """'a b c' and 'a b' with a window of 1: #(a,b) = 2, #(b,c) = 1, symmetric."""
    corpus = Corpus("tiny", [["a", "b", "c"], ["a", "b"]], "whitespace")
    words, counts = corpus.vocabulary(min_count=1)
    assert words == ["a", "b", "c"] and counts.tolist() == [2, 2, 1]  # a and b tie: first seen first
    index = {w: i for i, w in enumerate(words)}
    matrix = cooccurrence([np.array([index[t] for t in s]) for s in corpus.sentences], 3, window=1)
    np.testing.assert_array_equal(matrix.toarray(), [[0, 2, 0], [2, 0, 1], [0, 1, 0]])
    # by hand: D = 6; #(w) = 2, 3, 1; smoothed context weights 2^.75, 3^.75, 1^.75
    z = 2 ** 0.75 + 3 ** 0.75 + 1
    expected = np.zeros((3, 3))
    expected[0, 1] = math.log((2 / 6) / ((2 / 6) * (3 ** 0.75 / z)))  # a, b: 0.7777
    expected[1, 0] = math.log((2 / 6) / ((3 / 6) * (2 ** 0.75 / z)))  # b, a: 0.6763
    expected[1, 2] = math.log((1 / 6) / ((3 / 6) * (1 / z)))  # b, c: 0.5031
    expected[2, 1] = math.log((1 / 6) / ((1 / 6) * (3 ** 0.75 / z)))  # c, b: 0.7777
    np.testing.assert_allclose(ppmi(matrix, 0.75).toarray(), expected, rtol=1e-12)
    assert expected[0, 1] == pytest.approx(0.7777, abs=1e-4) and expected[1, 2] == pytest.approx(0.5031, abs=1e-4)
    # plain PMI (alpha = 1) of a pair seen less often than chance is negative, so PPMI drops it
    lopsided = scipy.sparse.csr_matrix(np.array([[0, 9, 1], [9, 0, 9], [1, 9, 0]], dtype=float))
    kept = ppmi(lopsided, 1.0).toarray()
    # #(a,c) = 1, D = 38, #(a) = #(c) = 10: log(1 * 38 / (10 * 10)) < 0
    assert math.log(38 / 100) < 0 and kept[0, 2] == kept[2, 0] == 0
    assert kept[0, 1] == pytest.approx(math.log(9 * 38 / (10 * 18)))


def _known_svd(n: int, seed: int) -> tuple[scipy.sparse.csr_matrix, np.ndarray, np.ndarray]:
    """A matrix U diag(s) Vᵀ with orthonormal U, V and well-separated singular values s."""
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((n, 8)))[0]
    v = np.linalg.qr(rng.standard_normal((n, 8)))[0]
    s = np.array([20.0, 15, 11, 8, 5, 3, 2, 1])
    return scipy.sparse.csr_matrix((u * s) @ v.T), u, s


@pytest.mark.parametrize("n", [DENSE_SVD_ROWS + 200, 300])  # ARPACK, then the dense path
def test_truncated_svd_recovers_a_known_svd_bit_identically(n):
    matrix, u, s = _known_svd(n, seed=n)
    found = svd_embedding(matrix, 5, eigenvalue_weight=0.5)
    assert found.tobytes() == svd_embedding(matrix, 5, eigenvalue_weight=0.5).tobytes()
    expected = u[:, :5] * s[:5] ** 0.5
    expected *= np.sign(expected[np.abs(expected).argmax(axis=0), np.arange(5)])  # the sign rule
    np.testing.assert_allclose(found, expected, atol=1e-5)
    np.testing.assert_allclose(svd_embedding(matrix, 3, 1.0), expected[:, :3] * s[:3] ** 0.5, atol=1e-5)


def test_default_labels_name_the_algorithm():
    assert default_train_label("brown", 50, 1) == "brown_50"
    assert default_train_label("brown", 50, 2, algorithm="fasttext") == "brown_fasttext_50_s2"
    assert default_train_label("brown", 50, None, algorithm="ppmi-svd") == "brown_ppmi-svd_50"


def _fingerprints_in_a_fresh_process(corpus: Path, hash_seed: str) -> dict:
    script = f"""
import hashlib, json
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.fasttext import FastTextSource, SubwordParams
from polyuni_db.sources.ppmi_svd import PpmiSvdSource
from polyuni_db.sources.trained import TrainedSource, TrainParams
corpus = load_corpus({str(corpus)!r})
sources = {{"fasttext": FastTextSource(corpus, 8, 5, subwords=SubwordParams(bucket=5000)),
            "word2vec-cbow": TrainedSource(corpus, 8, 5, TrainParams(sg=0)),
            "ppmi-svd": PpmiSvdSource(corpus, 8)}}
print(json.dumps({{name: hashlib.sha256(s.load().vectors.tobytes()).hexdigest() for name, s in sources.items()}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONHASHSEED": hash_seed})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_families_are_reproducible_across_processes(tmp_path):
    """With one worker, fastText and Word2Vec give the same bits whatever Python's hash salt; PPMI-SVD
    has no randomness at all."""
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(" ".join(s) for s in load_corpus("lee_background").sentences[:20]) + "\n")
    first, second = (_fingerprints_in_a_fresh_process(corpus, seed) for seed in ("1", "4242"))
    assert first == second and len(set(first.values())) == 3


@pytest.fixture(scope="module")
def family_db(tmp_path_factory):
    """Two corpora; on the first Word2Vec with two seeds, PPMI-SVD and fastText; on the second
    Word2Vec; every pair compared."""
    folder = tmp_path_factory.mktemp("families")
    db = folder / "families.duckdb"
    news = Corpus("news", load_corpus("lee_background").sentences, "gensim simple_preprocess")
    web = Corpus("web", load_corpus("head500").sentences[:120], "gensim simple_preprocess")
    for source in (TrainedSource(news, 10, 1), TrainedSource(news, 10, 2), PpmiSvdSource(news, 10),
                   FastTextSource(news, 10, 1, TrainParams(epochs=2), SubwordParams(bucket=5000)),
                   TrainedSource(web, 10, 1)):
        ingest(source, db, track=False, settings=AnalysisSettings(pairs=()))
    labels = ["news_10", "news_10_s2", "news_ppmi-svd_10", "news_fasttext_10", "web_10"]
    compare(db, labels, n_words=1000, permutations=10)
    return db


def test_runs_name_their_algorithm(family_db):
    found = {r["label"]: r for r in rows(family_db, "SELECT label, model_name, seed, corpus FROM runs")}
    assert found["news_10"]["model_name"] == "word2vec-sg"
    assert found["news_fasttext_10"]["model_name"] == "fasttext"
    assert found["news_ppmi-svd_10"] == {"label": "news_ppmi-svd_10", "model_name": "ppmi-svd", "seed": None,
                                         "corpus": "news"}
    (parameters,) = rows(family_db, "SELECT parameters->'vectors' AS p FROM runs WHERE label = 'news_fasttext_10'")
    assert json.loads(parameters["p"])["bucket"] == 5000 and json.loads(parameters["p"])["min_n"] == 3


def test_universality_by_factor_names_the_contrasts(family_db):
    factors = {(r["label_a"], r["label_b"]): r["contrast"] for r in rows(family_db, "SELECT * FROM pair_factors")}
    assert factors[("news_10", "news_10_s2")] == "other seed"
    assert factors[("news_10", "news_ppmi-svd_10")] == "other algorithm, same corpus"
    assert factors[("news_10", "web_10")] == "same algorithm, other corpus"
    assert factors[("news_ppmi-svd_10", "web_10")] == "other algorithm, other corpus"
    assert len(factors) == 10
    by_factor = {(r["contrast"], r["metric"]): r for r in rows(family_db, "SELECT * FROM universality_by_factor")}
    scores = rows(family_db, "SELECT * FROM similarity_effect_sizes")
    for (contrast, metric), summary in by_factor.items():  # each aggregate against the pairs it summarises
        mine = [s for s in scores if s["metric"] == metric and factors[(s["label_a"], s["label_b"])] == contrast]
        values = [s["value"] for s in mine]
        effects = [s["effect_size"] for s in mine if s["effect_size"] is not None]
        assert summary["n_pairs"] == len(values)
        assert summary["mean_value"] == pytest.approx(np.mean(values))
        assert summary["max_value"] == pytest.approx(max(values))
        if effects:
            assert summary["median_effect_size"] == pytest.approx(np.median(effects))
    assert {c for c, _ in by_factor} == {"other seed", "other algorithm, same corpus", "same algorithm, other corpus",
                                          "other algorithm, other corpus"}
    assert {m for _, m in by_factor} == {"linear_cka", "mutual_knn_10", "procrustes_overlap_5"}
    axis = {r["contrast"]: r for r in rows(family_db, "SELECT * FROM axis_overlap_by_factor")}
    assert axis["other algorithm, same corpus"]["n_pairs"] == 5  # two Word2Vec seeds x two others, and those two
    assert sum(r["n_pairs"] for r in axis.values()) == 10


def test_effect_sizes_against_the_seed_ceiling(family_db):
    scores = {(r["label_a"], r["label_b"], r["metric"]): r for r in rows(family_db, "SELECT * FROM similarity_scores")}
    effects = {(r["label_a"], r["label_b"], r["metric"]): r for r in rows(family_db, "SELECT * FROM similarity_effect_sizes")}
    ceiling = scores[("news_10", "news_10_s2", "linear_cka")]["value"]  # the only seed pair
    seed_pair = effects[("news_10", "news_10_s2", "linear_cka")]
    assert seed_pair["ceiling"] == pytest.approx(ceiling) and seed_pair["effect_size"] == pytest.approx(1.0)
    other = scores[("news_10", "news_ppmi-svd_10", "linear_cka")]
    effect = effects[("news_10", "news_ppmi-svd_10", "linear_cka")]
    assert effect["ceiling_source"] == "seeds"
    assert effect["effect_size"] == pytest.approx((other["value"] - other["null_mean"]) / (ceiling - other["null_mean"]))
    # neither PPMI-SVD nor fastText has a seed pair: CKA reads against its maximum, 1, and says so
    no_seeds = effects[("news_fasttext_10", "news_ppmi-svd_10", "linear_cka")]
    assert (no_seeds["ceiling"], no_seeds["ceiling_source"]) == (1.0, "maximum")
    counts = effects[("news_fasttext_10", "news_ppmi-svd_10", "procrustes_overlap_5")]
    assert (counts["ceiling"], counts["ceiling_source"], counts["effect_size"]) == (None, "none", None)
    assert ("news_10", "news_10_s2", "rotation_max_cosine_change") not in effects


def test_the_report_reads_data_against_algorithm(family_db, tmp_path):
    from polyuni_db.report import render_report
    from polyuni_db.report.build import cell

    page = render_report(family_db, tmp_path / "out").read_text(encoding="utf-8")
    start = page.index('id="families"')
    section = " ".join(page[start:page.index("<section", start)].split())
    for text in ("Data or algorithm?", "other algorithm, same corpus", "same algorithm, other corpus",
                 "FROM universality_by_factor", "FROM axis_overlap_by_factor", "data:image/svg+xml;base64,",
                 "The study concluded that the relationships depend heavily on the training data"):
        assert text.lower() in section.lower(), text
    median = {(r["contrast"], r["metric"]): r["median_effect_size"]
              for r in rows(family_db, "SELECT * FROM universality_by_factor")}
    algorithm_knn, corpus_knn = (median[(c, "mutual_knn_10")] for c in ("other algorithm, same corpus", "same algorithm, other corpus"))
    algorithm_cka, corpus_cka = (median[(c, "linear_cka")] for c in ("other algorithm, same corpus", "same algorithm, other corpus"))
    assert f"the median pair reaches {cell(algorithm_knn)} of the agreement" in section
    assert f"and {cell(algorithm_cka)} in linear CKA (5 pairs)" in section
    verdict = {(True, True): "agrees with it", (False, False): "does not bear that out"}.get(
        (corpus_knn < algorithm_knn, corpus_cka < algorithm_cka), "The two measures disagree")
    assert verdict in section
    controls = page[page.index('id="controls"'):page.index('id="families"')]
    assert "effect size" in controls


def test_cli_trains_every_algorithm_and_refuses_settings_that_do_not_apply(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(" ".join(s) for s in load_corpus("lee_background").sentences[:15]) + "\n")
    base = ["--db", str(db), "ingest", "train", "--corpus", str(corpus), "--dims", "6", "--no-mlflow"]
    bad = [
        (["--algorithm", "ppmi-svd", "--sg", "1"], "--sg does not apply to ppmi-svd"),
        (["--algorithm", "ppmi-svd", "--seeds", "2"], "--seeds does not apply to ppmi-svd"),
        (["--algorithm", "word2vec-sg", "--bucket", "10"], "--bucket does not apply to word2vec-sg"),
        (["--algorithm", "fasttext", "--smoothing", "0.5"], "--smoothing does not apply to fasttext"),
        (["--algorithm", "word2vec-cbow", "--sg", "1"], "--sg 1 contradicts --algorithm word2vec-cbow"),
        (["--algorithm", "fasttext", "--min-n", "4", "--max-n", "3"], "max_n (3) must be at least min_n (4)"),
    ]
    for args, message in bad:
        assert main(base + args) == 1, args
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not db.exists()  # nothing written
    with pytest.raises(SystemExit) as exited:
        main(base + ["--algorithm", "glove"])
    assert exited.value.code == 2 and "invalid choice: 'glove'" in capsys.readouterr().err
    assert main(base + ["--algorithm", "ppmi-svd"]) == 0
    assert main(base + ["--algorithm", "fasttext", "--bucket", "2000", "--epochs", "1", "--seeds", "1", "2"]) == 0
    assert main(base + ["--sg", "0", "--label", "{corpus}-{algorithm}-{dim}"]) == 0
    out = capsys.readouterr().out
    for label in ("tiny_ppmi-svd_6: ingested", "tiny_fasttext_6: ingested", "tiny_fasttext_6_s2: ingested",
                  "tiny-word2vec-cbow-6: ingested"):
        assert label in out, out
    stored = rows(db, "SELECT label, model_name, status FROM runs ORDER BY label")
    assert [r["model_name"] for r in stored] == ["word2vec-cbow", "fasttext", "fasttext", "ppmi-svd"]
    assert {r["status"] for r in stored} == {"complete"}


def test_migration_names_word2vec_runs_by_algorithm(tmp_path):
    from alembic import command

    from polyuni_db.store.db import alembic_config, sqlalchemy_connection, upgrade

    db = tmp_path / "old.duckdb"
    corpus = load_corpus("corpus_bark")
    for params in (TrainParams(sg=1), TrainParams(sg=0)):
        ingest(TrainedSource(corpus, 2, 1, params), db, settings=AnalysisSettings(top_k=2), track=False)
    with sqlalchemy_connection(db) as connection:
        command.downgrade(alembic_config(connection), "0007")  # as stored before algorithms had names
        connection.commit()
    assert {r["model_name"] for r in rows(db, "SELECT model_name FROM runs")} == {"word2vec"}
    with sqlalchemy_connection(db) as connection:
        upgrade(connection)
    found = rows(db, "SELECT label, model_name FROM runs ORDER BY label")
    assert found == [{"label": "corpus_bark_2", "model_name": "word2vec-sg"},
                     {"label": "corpus_bark_word2vec-cbow_2", "model_name": "word2vec-cbow"}]
