"""Runs logged through an MLflow tracking server started with --serve-artifacts: named by their label,
tagged with polyuni's run id, their artifacts stored and served by the server (mlflow-artifacts:/),
so that a remote client can download them; a study through a server on a throw-away PostgreSQL, as
the tree of its runs with its results and its report. Marked `slow` (starting the server takes a while);
.ci/run runs it after the suite. The server listens on 127.0.0.1 only and is stopped by the test."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource
from tests.test_sweep import free_port, postgres  # noqa: F401 (postgres: a fixture, a throw-away PostgreSQL)

pytestmark = pytest.mark.slow


@contextmanager
def serve(backend: str, artifacts: Path):
    """`mlflow server` on a free port of 127.0.0.1 with this backend store, serving the artifacts it
    keeps in ``artifacts``; yields its URL, and stops it and its workers."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", backend, "--serve-artifacts", "--artifacts-destination", str(artifacts),
         "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the MLflow server did not start"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers, all started here
        server.wait(timeout=60)


@pytest.fixture
def mlflow_server(tmp_path):
    with serve(f"sqlite:///{tmp_path / 'server.sqlite'}", tmp_path / "served-artifacts") as url:
        yield url, tmp_path / "served-artifacts"


def test_runs_logged_through_a_server_have_served_artifacts(mlflow_server, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    url, served = mlflow_server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    result = ingest(TrainedSource(load_corpus("corpus_4"), 2, 1), tmp_path / "s.duckdb",
                    settings=AnalysisSettings(top_k=2))
    assert result.mlflow_error is None and result.mlflow_run_id
    client = MlflowClient(url)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.run_name == "corpus_4_2"
    assert run.data.tags["polyuni.label"] == "corpus_4_2" and run.data.tags["polyuni.run_id"] == str(result.run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # served by the server, not a local path
    downloaded = Path(client.download_artifacts(result.mlflow_run_id, "dimension_words.csv", str(tmp_path)))
    assert downloaded.read_text().startswith('"dimension","pole","rank","word","similarity"')
    assert list(served.rglob("dimension_words.csv"))  # stored where the server keeps artifacts


def test_a_study_through_a_server_on_postgresql_is_a_tree_with_its_results_and_its_report(postgres, tmp_path,
                                                                                          monkeypatch):
    """The quick study logged through `mlflow server` on a throw-away PostgreSQL: the study run with
    every run it computed as its child, a comparison as its metric, its report downloaded through
    the server."""
    from mlflow.tracking import MlflowClient

    from polyuni_db.cli import main
    from polyuni_db.store.read import read_only_query

    with serve(postgres, tmp_path / "served-artifacts") as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "s1")
        db, out = tmp_path / "study.duckdb", tmp_path / "out"
        assert main(["--db", str(db), "study", "--preset", "quick", "--out", str(out)]) == 0
        client = MlflowClient(url)
        experiment = client.get_experiment_by_name("s1")
        logged = client.search_runs([experiment.experiment_id], max_results=1000)
        (study,) = [run for run in logged if run.data.tags["polyuni.kind"] == "study"]
        _, stored = read_only_query(db, "SELECT mlflow_run_id FROM runs WHERE status = 'complete'")
        children = {run.info.run_id for run in logged if run.data.tags.get("mlflow.parentRunId") == study.info.run_id}
        assert children == {mlflow_run_id for (mlflow_run_id,) in stored} and len(logged) == len(stored) + 1
        _, compared = read_only_query(db, "SELECT label_a, label_b, metric, value FROM similarity_scores LIMIT 1")
        label_a, label_b, metric, value = compared[0]
        assert study.data.metrics[f"{metric}.value/{label_a} vs {label_b}"] == pytest.approx(value)
        assert study.info.artifact_uri.startswith("mlflow-artifacts:/")
        page = Path(client.download_artifacts(study.info.run_id, "index.html", str(tmp_path / "downloaded")))
        assert page.read_bytes() == (out / "index.html").read_bytes()
