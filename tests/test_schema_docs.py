"""Every SQL example in docs/SCHEMA.md runs against a fixture database and answers something."""
from __future__ import annotations

import re

import pytest

from polyuni_db.derived.features import FeatureSettings, compute_features, match_features
from polyuni_db.derived.instruments import compare
from polyuni_db.derived.planted import ingest_planted, record_feature_recoveries
from polyuni_db.runs.executor import RunOutcome
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.runs.tracking import study_run
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.pretrained import PretrainedSource
from polyuni_db.sources.pseudowords import plant_pseudowords
from polyuni_db.sources.trained import TrainedSource
from polyuni_db.store.read import read_only_query
from tests.conftest import ROOT

EXAMPLES = re.findall(r"```sql\n(.*?)```", (ROOT / "docs" / "SCHEMA.md").read_text(), flags=re.S)


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("docs") / "docs.duckdb"
    ingest(PretrainedSource("glove-wiki-gigaword-50"), db, track=False)
    lee = load_corpus("lee_background")
    for dim, seed in ((10, 1), (20, 1), (10, 2)):
        ingest(TrainedSource(lee, dim, seed), db, track=False)
    for dim in (2, 3):
        ingest(TrainedSource(load_corpus("corpus_4"), dim, 1), db, track=False, settings=AnalysisSettings(top_k=4))
    compare(db, ["lee_background_10", "lee_background_10_s2", "lee_background_20"], n_words=500, permutations=10)
    ingest_planted(TrainedSource(plant_pseudowords(lee, 5, seed=1), 10, 1), db, track=False)  # its reference is stored
    small = FeatureSettings(words=1_000)
    compute_features(db, ["lee_background_10"], small, seeds=[1, 2])
    compute_features(db, ["lee_background_10_s2"], small, seeds=[3])  # a seed of its own: not a shared start
    match_features(db, [("lee_background_10", 1), ("lee_background_10_s2", 3)], small, permutations=5)
    compute_features(db, ["lee_background_pw5s1_10"], small)  # the planted run: the features instrument
    record_feature_recoveries(db, ["lee_background_pw5s1_10"], small)
    with study_run(db, "study", "docs", {"preset": "docs"}, "inline", "polyuni study", track=False) as study:
        result = ingest(TrainedSource(load_corpus("corpus_4"), 4, 1), db, track=False, settings=AnalysisSettings(top_k=4))
        study.add([RunOutcome(result.label, result)])
    return db


def test_there_are_enough_examples():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda sql: sql.splitlines()[0][:40])
def test_example_runs_and_answers(fixture_db, example):
    columns, rows = read_only_query(fixture_db, example)
    assert columns and rows, example
