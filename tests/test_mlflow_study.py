"""MLflow shows the study: the experiment a database logs to, a study or sweep as a parent run with
its runs as children, its derived results as metrics, its report as an artifact, and what a tracking
server missed logged later by `polyuni mlflow-sync`. On sqlite tracking stores under tmp_path."""
from __future__ import annotations

from pathlib import Path

import pytest

from polyuni_db.cli import main
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource
from polyuni_db.store.read import read_only_query

SWEEP = """
[analysis]
top_k = 3
pairs = ["Paris:Rome"]

[train]
corpora = ["lee_background"]
dims = [3, 4]

[compare]
words = 200
k = 3
permutations = 5
"""


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def runs_of(uri: str, experiment: str) -> list:
    found = client(uri).get_experiment_by_name(experiment)
    return client(uri).search_runs([found.experiment_id], max_results=1000) if found else []


def polyuni(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def quick_study(tmp_path_factory):
    """`polyuni study --preset quick` with MLFLOW_TRACKING_URI on a sqlite store and MLFLOW_EXPERIMENT_NAME=s1."""
    folder = tmp_path_factory.mktemp("quick")
    uri = f"sqlite:///{folder / 'tracking.sqlite'}"
    db = folder / "study.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        patch.setenv("MLFLOW_EXPERIMENT_NAME", "s1")
        patch.setenv("POLYUNI_CACHE", str(folder / "cache"))
        assert main(["--db", str(db), "study", "--preset", "quick", "--executor", "inline",
                     "--out", str(folder / "out")]) == 0
    return db, uri, folder


def test_done_when_the_quick_study_is_a_parent_run_with_its_runs_its_comparisons_and_its_report(quick_study, tmp_path):
    db, uri, _ = quick_study
    logged = runs_of(uri, "s1")
    (study,) = [run for run in logged if run.data.tags.get("polyuni.kind") == "study"]
    assert study.info.run_name == "quick" and study.info.status == "FINISHED"
    artifacts = {artifact.path for artifact in client(uri).list_artifacts(study.info.run_id)}
    assert {"index.html", "quick.toml", "runs.csv", "settings.json"} <= artifacts  # the page, the preset file
    page = Path(client(uri).download_artifacts(study.info.run_id, "index.html", str(tmp_path)))
    assert 'id="overview"' in page.read_text(encoding="utf-8")
    # every model run of the study is its child, and nothing else is in the experiment
    _, stored = read_only_query(db, "SELECT run_id, mlflow_run_id FROM runs WHERE status = 'complete'")
    children = [run for run in logged if run.data.tags.get("polyuni.kind") == "run"]
    assert len(children) == len(stored) == len(logged) - 1
    assert {run.data.tags.get("mlflow.parentRunId") for run in children} == {study.info.run_id}
    assert {run.info.run_id for run in children} == {mlflow_run_id for _, mlflow_run_id in stored}
    # a comparison of two of its runs, as a metric of the study run: the stored number
    _, compared = read_only_query(db, "SELECT label_a, label_b, metric, value FROM similarity_scores")
    assert compared
    for label_a, label_b, metric, value in compared:
        assert study.data.metrics[f"{metric}.value/{label_a} vs {label_b}"] == pytest.approx(value)
    # how it ran
    assert study.data.params["executor"] == "inline" and study.data.params["version.gensim"]
    assert "study --preset quick" in study.data.tags["polyuni.command"]
    assert study.data.metrics["wall_seconds"] > 0 and study.data.metrics["runs.computed"] == len(stored)
    _, studies = read_only_query(db, "SELECT kind, name, mlflow_run_id, mlflow_status FROM studies")
    assert studies == [("study", "quick", study.info.run_id, "logged")]


def test_a_page_rendered_again_goes_to_the_study_run(quick_study, capsys, monkeypatch):
    db, uri, folder = quick_study
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # no experiment named: the database's is s1
    code, _, err = polyuni(capsys, "--db", db, "runs")
    assert "MLflow experiment 's1' (the database's experiment)" in err
    (study,) = [run for run in runs_of(uri, "s1") if run.data.tags["polyuni.kind"] == "study"]
    code, out, _ = polyuni(capsys, "--db", db, "report", "--out", folder / "page", "--mlflow")
    assert code == 0 and study.info.run_id in out
    logged = Path(client(uri).download_artifacts(study.info.run_id, "index.html", str(folder / "downloaded")))
    assert logged.read_bytes() == (folder / "page" / "index.html").read_bytes()
    assert "MLflow experiment &#39;s1&#39;" in logged.read_text(encoding="utf-8")  # the page says where
    capsys.readouterr()  # MLflow's download bar
    # a database with no study in MLflow: one line, and no page written
    code, _, err = polyuni(capsys, "--db", folder / "none.duckdb", "report", "--out", folder / "nothing", "--mlflow")
    assert code == 1 and len(err.strip().splitlines()) == 1 and not (folder / "nothing").exists()


def test_a_sweep_logged_while_the_server_was_down_is_synced_whole_and_once(tmp_path, monkeypatch, capsys):
    db, sweep = tmp_path / "grid.duckdb", tmp_path / "grid.toml"
    sweep.write_text(SWEEP)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where MLflow wants a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{blocker}/mlruns")
    code, out, err = polyuni(capsys, "--db", db, "sweep", sweep, "--executor", "inline")
    assert code == 0 and "sweep grid.toml: MLflow logging failed" in err
    _, rows = read_only_query(db, "SELECT mlflow_status FROM runs UNION ALL SELECT mlflow_status FROM studies")
    assert {status for (status,) in rows} == {"failed"}
    uri = f"sqlite:///{tmp_path / 'tracking.sqlite'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    code, out, err = polyuni(capsys, "--db", db, "mlflow-sync")
    assert code == 0 and "sweep grid.toml: MLflow run" in out, err
    logged = runs_of(uri, "grid.duckdb")  # no experiment chosen: named after the database file
    (parent,) = [run for run in logged if run.data.tags["polyuni.kind"] == "sweep"]
    children = [run for run in logged if run.data.tags["polyuni.kind"] == "run"]
    assert len(children) == 2 and {run.data.tags["mlflow.parentRunId"] for run in children} == {parent.info.run_id}
    assert "grid.toml" in {artifact.path for artifact in client(uri).list_artifacts(parent.info.run_id)}
    key = "linear_cka.value/lee_background_3 vs lee_background_4"
    _, (value,) = read_only_query(db, "SELECT value FROM similarity_scores WHERE metric = 'linear_cka'")
    assert parent.data.metrics[key] == pytest.approx(value[0])
    # nothing is logged twice: a second sync finds nothing, logging the study again adds no point
    code, out, _ = polyuni(capsys, "--db", db, "mlflow-sync")
    assert "every run and study is logged" in out
    from polyuni_db.runs.tracking import log_study

    assert log_study(db, 1)[1] is None
    assert len(runs_of(uri, "grid.duckdb")) == 3
    assert len(client(uri).get_metric_history(parent.info.run_id, key)) == 1
    # the sweep again: its runs are stored, so they are linked by a tag, not logged again
    code, out, _ = polyuni(capsys, "--db", db, "sweep", sweep, "--executor", "inline")
    (second,) = [run for run in runs_of(uri, "grid.duckdb") if run.info.run_id != parent.info.run_id
                 and run.data.tags["polyuni.kind"] == "sweep"]
    assert len(runs_of(uri, "grid.duckdb")) == 4
    assert second.data.metrics["runs.reused"] == 2 and second.data.metrics["runs.computed"] == 0
    for run in children:
        tags = client(uri).get_run(run.info.run_id).data.tags
        assert tags[f"polyuni.reused_by.{second.info.run_id}"] == "sweep grid.toml"


def _ingest_tiny(db: Path, dim: int) -> str:
    result = ingest(TrainedSource(load_corpus("corpus_4"), dim, 1), db, settings=AnalysisSettings(top_k=2))
    assert result.mlflow_error is None
    return result.mlflow_run_id


def test_the_experiment_is_the_variable_the_option_the_database_s_or_its_file_name(tmp_path, monkeypatch, capsys):
    from polyuni_db.runs.tracking import tracking_uri

    db = tmp_path / "alice.duckdb"
    uri = tracking_uri(db)
    first = _ingest_tiny(db, 2)
    assert client(uri).get_run(first).info.experiment_id == client(uri).get_experiment_by_name("alice.duckdb").experiment_id
    # --experiment moves the database's logging, which stays there
    assert main(["--db", str(db), "ingest", "train", "--corpus", "corpus_4", "--dims", "3", "--top-k", "2",
                 "--experiment", "shared"]) == 0
    assert [run.info.run_name for run in runs_of(uri, "shared")] == ["corpus_4_3"]
    _ingest_tiny(db, 4)
    assert {run.info.run_name for run in runs_of(uri, "shared")} == {"corpus_4_3", "corpus_4_4"}
    code, _, err = polyuni(capsys, "--db", db, "runs")
    assert "MLflow experiment 'shared' (the database's experiment)" in err
    # MLflow's own variable comes first; naming another experiment beside it is an error
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team")
    code, _, err = polyuni(capsys, "--db", db, "mlflow-sync", "--experiment", "other")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "disagree" in err
    code, _, err = polyuni(capsys, "--db", db, "runs")
    assert "MLflow experiment 'team' (MLFLOW_EXPERIMENT_NAME)" in err


def test_a_database_that_logged_before_keeps_logging_to_polyuni_db(tmp_path):
    """Revision 0009 records 'polyuni-db', where every database logged before, for one with logged runs."""
    from alembic import command

    from polyuni_db.store.db import alembic_config, sqlalchemy_connection
    from polyuni_db.runs.tracking import tracking_uri

    db = tmp_path / "old.duckdb"
    _ingest_tiny(db, 2)
    with sqlalchemy_connection(db) as connection:
        command.downgrade(alembic_config(connection), "0008")  # as it was before the revision
        connection.commit()
    _ingest_tiny(db, 3)  # upgrades the file, then logs
    assert [run.info.run_name for run in runs_of(tracking_uri(db), "polyuni-db")] == ["corpus_4_3"]
    _, rows = read_only_query(db, "SELECT experiment_name, experiment_id IS NOT NULL FROM mlflow_experiment")
    assert rows == [("polyuni-db", True)]


def test_metric_names_are_ones_mlflow_takes_whatever_the_labels():
    from mlflow.utils.validation import _validate_metric_name

    from polyuni_db.runs.tracking import metric_key

    for label in ("brown_50", "a~b", "x/y", "..", "ünï cödé", "semi;colon"):
        key = metric_key("linear_cka.effect", f"{label} vs other")
        _validate_metric_name(key)
        assert key.startswith("linear_cka.effect/")


def test_the_verdict_s_rows_become_metrics_of_the_study_run(tmp_path):
    import duckdb

    from polyuni_db.store.read import init
    from polyuni_db.runs.tracking import _verdict_metrics

    db = tmp_path / "v.duckdb"
    init(db)
    assert _verdict_metrics(db, 5) == {}  # nothing measured yet: the verdict holds no numbers
    with duckdb.connect(str(db)) as connection:  # a stand-in of the report's view, with numbers to log
        connection.execute("""CREATE OR REPLACE VIEW verdict AS SELECT * FROM (VALUES
            ('features', 0.4, 0.1, NULL, 'mean matched'), ('planted polysemy', 0.9, 0.2, 0.7, NULL))
            AS t(question, measured, null_value, effect_size, reading)""")
    assert _verdict_metrics(db, 5) == {
        "verdict.measured/features": 0.4, "verdict.null_value/features": 0.1,
        "verdict.measured/planted polysemy": 0.9, "verdict.null_value/planted polysemy": 0.2,
        "verdict.effect_size/planted polysemy": 0.7}
