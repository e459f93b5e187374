"""Controls: rotation, permutation nulls, Procrustes, attribution of overlap, filtered variants,
MiniLM, and the report's controls section."""
from __future__ import annotations

import duckdb
import numpy as np
import pytest

from polyuni_db.analysis.similarity import (
    linear_cka,
    max_cosine_change,
    permutation_scores,
    procrustes,
    random_rotation,
)
from polyuni_db.cli import main
from polyuni_db.derived.compare import add_filtered_variant
from polyuni_db.derived.instruments import compare, rotation_nulls
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.pretrained import PretrainedSource
from polyuni_db.sources.trained import TrainedSource


def rows(db, sql, *parameters):
    with duckdb.connect(str(db), read_only=True) as connection:
        result = connection.execute(sql, list(parameters))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def word_like(n: int, dim: int, seed: int) -> np.ndarray:
    """Vectors with structure (a few clusters and a common direction), like trained embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((12, dim))
    return (centres[rng.integers(0, 12, n)] + 0.6 * rng.standard_normal((n, dim)) + 0.8).astype(np.float32)


def test_a_rotated_copy_is_the_same_model_in_other_axes():
    x = word_like(1500, 24, seed=1)
    rotated = (x @ random_rotation(24, seed=5)).astype(np.float32)
    scores = permutation_scores(x, rotated, permutations=30, seed=0)
    assert scores["linear_cka"].value == pytest.approx(1.0, abs=1e-6)
    assert scores["mutual_knn_10"].value == pytest.approx(1.0, abs=2e-3)
    assert scores["linear_cka"].p_value == pytest.approx(1 / 31) and scores["mutual_knn_10"].calibrated > 50
    assert max_cosine_change(x, rotated) < 1e-5


def test_independent_models_score_at_chance():
    """Over eight pairs of independent models, calibrated scores centre on 0 and p-values are large."""
    found: dict[str, list] = {}
    for pair in range(8):
        x, y = word_like(1500, 24, seed=10 + 2 * pair), word_like(1500, 24, seed=11 + 2 * pair)
        for metric, scored in permutation_scores(x, y, permutations=40, seed=pair).items():
            found.setdefault(metric, []).append(scored)
    assert set(found) == {"linear_cka", "mutual_knn_10", "procrustes_overlap_5"}
    for metric, scores in found.items():
        assert abs(np.mean([s.calibrated for s in scores])) < 1.0, metric
        assert np.median([s.p_value for s in scores]) > 0.2, metric
        assert max(abs(s.calibrated) for s in scores) < 4, metric


def test_procrustes_recovers_a_known_rotation():
    x = word_like(800, 16, seed=4)
    rotation = random_rotation(16, seed=9)
    np.testing.assert_allclose(procrustes(x, x @ rotation), rotation, atol=1e-8)
    assert linear_cka(x, x @ rotation) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def control_db(tmp_path_factory):
    """Two seeds on a corpus made to have untrained words, a rotation, and every pair compared."""
    folder = tmp_path_factory.mktemp("controls")
    corpus = folder / "mixed.txt"
    lee = load_corpus("lee_background").sentences
    lonely = [f"hapax{i}" for i in range(60)]  # each alone in its sentence: never trained
    corpus.write_text("\n".join([" ".join(s) for s in lee[:150]] + lonely) + "\n")
    db = folder / "controls.duckdb"
    sentences = load_corpus(str(corpus))
    for seed in (1, 2):
        ingest(TrainedSource(sentences, 8, seed), db, track=False, settings=AnalysisSettings(pairs=()))
    assert main(["--db", str(db), "ingest", "control", "rotate", "--of", "mixed_8", "--seed", "4", "--no-mlflow"]) == 0
    for label in ("mixed_8", "mixed_8_s2"):
        add_filtered_variant(db, label, min_count=3)
    compare(db, ["mixed_8", "mixed_8_s2", "mixed_8_rot4"], n_words=400, permutations=20)
    return db


def test_rotation_control_run_and_its_scores(control_db):
    scores = {(r["label_a"], r["label_b"], r["metric"]): r for r in rows(control_db, "SELECT * FROM similarity_scores")}
    assert scores[("mixed_8", "mixed_8_rot4", "rotation_max_cosine_change")]["value"] < 1e-5
    assert scores[("mixed_8", "mixed_8_rot4", "linear_cka")]["value"] == pytest.approx(1.0, abs=1e-6)
    assert scores[("mixed_8", "mixed_8_rot4", "mutual_knn_10")]["value"] > 0.99
    # rotating changes the axes: the copy's dimension words overlap no more than random rotations give
    assert scores[("mixed_8", "mixed_8_rot4", "axis_overlap_rotation_null")]["p_value"] > 0.05
    (run,) = rows(control_db, "SELECT source, model_name, seed FROM runs WHERE label = 'mixed_8_rot4'")
    assert run == {"source": "control", "model_name": "rotation of mixed_8", "seed": 4}
    assert len(scores) == 3 * 4 + 1  # three pairs x four metrics, and the rotation check


def test_attribution_on_a_corpus_with_known_untrained_words(control_db):
    stats = {(r["label"], r["word"]): r for r in rows(control_db, """
        SELECT label, word, rank, trained FROM word_stats JOIN runs USING (run_id)""")}
    assert all(not stats[("mixed_8", f"hapax{i}")]["trained"] for i in range(60))
    sets = {}
    for r in rows(control_db, "SELECT label, word FROM dimension_word_sets"):
        sets.setdefault(r["label"], set()).add(r["word"])
    attribution = {(r["label_a"], r["label_b"]): r for r in rows(control_db, "SELECT * FROM overlap_attribution")}
    for (label_a, label_b), found in attribution.items():
        common = sets[label_a] & sets[label_b]
        untrained = {w for w in common if not stats[(label_a, w)]["trained"] or not stats[(label_b, w)]["trained"]}
        frequent = {w for w in common - untrained if stats[(label_a, w)]["rank"] <= 100 or stats[(label_b, w)]["rank"] <= 100}
        assert (found["n_common"], found["n_untrained"], found["n_frequent"], found["n_rest"]) == (
            len(common), len(untrained), len(frequent), len(common) - len(untrained) - len(frequent))
    # the made-up untrained words crowd the axes: they are part of what the runs share
    assert sum(r["n_untrained"] for r in attribution.values()) > 0
    frequency = {r["label"]: r for r in rows(control_db, "SELECT * FROM dimension_word_frequency")}
    in_set = [stats[("mixed_8", w)] for w in sets["mixed_8"]]
    assert frequency["mixed_8"]["share_untrained"] == pytest.approx(np.mean([not s["trained"] for s in in_set]))


def test_filtered_variant_keeps_the_original_rows(control_db):
    filtered = rows(control_db, """SELECT f.word, w.trained, w.count FROM dimension_words_filtered f
                                   JOIN word_stats w ON w.run_id = f.run_id AND w.word = f.word""")
    assert filtered and all(r["trained"] and r["count"] >= 3 for r in filtered)
    assert rows(control_db, "SELECT count(*) AS n FROM dimension_words JOIN runs USING (run_id) "
                            "WHERE label = 'mixed_8'") == [{"n": 2 * 8 * 10}]
    (pair,) = rows(control_db, "SELECT * FROM filtered_overlap")
    assert (pair["label_a"], pair["label_b"], pair["min_count"]) == ("mixed_8", "mixed_8_s2", 3)


def test_pairs_already_compared_are_not_compared_again(control_db):
    assert compare(control_db, ["mixed_8", "mixed_8_s2", "mixed_8_rot4"], n_words=400, permutations=20) == 0
    # the headline table's baseline alone: compare stored it with these rotations already
    assert rotation_nulls(control_db, ["mixed_8", "mixed_8_s2", "mixed_8_rot4"], rotations=20) == 0


def test_the_report_shows_the_controls(control_db, tmp_path):
    from polyuni_db.report import render_report

    page = render_report(control_db, tmp_path / "out").read_text(encoding="utf-8")
    section = page[page.index('id="controls"'):page.index('id="families"')]
    assert "Findings" in section and section.count("<img") == 2
    assert "mixed_8_rot4" in section and "Rotation control" in section


def test_minilm_token_embeddings_offline(tmp_path):
    embedding = PretrainedSource("minilm-token-embeddings").load()
    assert embedding.vectors.shape == (30522, 384) and embedding.words[:1] == ["[PAD]"]
    assert PretrainedSource("minilm-token-embeddings").default_label() == "minilm"
    db = tmp_path / "minilm.duckdb"
    result = ingest(PretrainedSource("minilm-token-embeddings"), db, track=False)
    assert result.label == "minilm"
    assert rows(db, "SELECT vocab_size, dim FROM runs") == [{"vocab_size": 30522, "dim": 384}]
