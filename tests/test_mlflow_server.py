"""Runs logged through an MLflow tracking server started with --serve-artifacts: named by their label,
tagged with polyuni's run id, their artifacts stored and served by the server (mlflow-artifacts:/),
so that a remote client can download them. Marked `slow` (starting the server takes a while);
.ci/run runs it after the suite. The server listens on 127.0.0.1 only and is stopped by the test."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from polyuni_db.findings import AnalysisSettings
from polyuni_db.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.sqlite'}", "--serve-artifacts",
         "--artifacts-destination", str(tmp_path / "served-artifacts"), "--workers", "1"],
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
        yield url, tmp_path / "served-artifacts"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and its workers, all started here
        server.wait(timeout=60)


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
