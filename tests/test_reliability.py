"""Nothing lost and clear errors: kills, concurrent commands, locks, MLflow outages, bad input, fuzz."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest, sync_mlflow
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.files import FileSource, read_vectors
from polyuni_db.sources.trained import TrainedSource
from polyuni_db.store.schema import FINDINGS_TABLES

POLYUNI = [sys.executable, "-m", "polyuni_db.cli"]


def start(db, *args, env=None):
    return subprocess.Popen([*POLYUNI, "--db", str(db), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})


def assert_consistent(db):
    """The file opens; every run in it is complete; no row belongs to a run that is not there."""
    if not db.exists():
        return
    with duckdb.connect(str(db), read_only=True) as connection:
        if not connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'").fetchone()[0]:
            return
        assert connection.execute("SELECT count(*) FROM runs WHERE status <> 'complete'").fetchone() == (0,)
        for table in FINDINGS_TABLES:
            orphans = connection.execute(f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM runs)")
            assert orphans.fetchone() == (0,), table
        for (run_id,) in connection.execute("SELECT run_id FROM runs").fetchall():
            (vocab,), (stats,) = connection.execute(
                "SELECT vocab_size FROM runs WHERE run_id = ? UNION ALL "
                "SELECT count(*) FROM word_stats WHERE run_id = ?", [run_id, run_id]).fetchall()
            assert vocab == stats  # a run is there whole or not at all


def kill_when(process, ready, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_sigkill_at_any_moment_leaves_no_half_run(tmp_path):
    db = tmp_path / "killed.duckdb"
    glove = ["ingest", "pretrained", "glove-wiki-gigaword-50", "--no-mlflow"]
    # while loading and computing
    for delay in (0.3, 0.8):
        process = start(db, *glove)
        started = time.monotonic()
        kill_when(process, lambda: time.monotonic() - started > delay)
        assert_consistent(db)
    # inside the write transaction: every row inserted, the commit not yet made
    process = start(db, *glove, "--force", env={"POLYUNI_TEST_HOLD_WRITE": "30"})
    assert process.stderr.readline().strip() == "polyuni: holding the write transaction open"
    kill_when(process, lambda: True)
    assert process.returncode == -signal.SIGKILL
    assert_consistent(db)
    # while training
    process = start(db, "ingest", "train", "--corpus", "lee_background", "--dims", "30", "--no-mlflow")
    kill_when(process, lambda: False, timeout=1.0)
    assert process.returncode == -signal.SIGKILL
    assert_consistent(db)
    for args in (glove, ["ingest", "train", "--corpus", "lee_background", "--dims", "30", "--no-mlflow"]):
        rerun = subprocess.run([*POLYUNI, "--db", str(db), *args], capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr
    assert_consistent(db)
    with duckdb.connect(str(db), read_only=True) as connection:
        assert sorted(connection.execute("SELECT label FROM runs").fetchall()) == [("glove",), ("lee_background_30",)]


def test_two_ingests_and_a_query_at_once(tmp_path):
    db = tmp_path / "busy.duckdb"
    ingests = [start(db, "ingest", "train", "--corpus", "lee_background", "--dims", str(dim), "--no-mlflow")
               for dim in (8, 9)]
    queries = 0
    while any(p.poll() is None for p in ingests):
        if db.exists():
            query = subprocess.run([*POLYUNI, "--db", str(db), "sql", "SELECT count(*) FROM runs"],
                                   capture_output=True, text=True)
            assert query.returncode == 0 or "no database" in query.stderr or "Table with name runs" in query.stderr, query.stderr
            queries += 1
    for process in ingests:
        assert process.returncode == 0, process.stderr.read()
    assert queries >= 1
    with duckdb.connect(str(db), read_only=True) as connection:
        assert sorted(connection.execute("SELECT label FROM runs").fetchall()) == [
            ("lee_background_8",), ("lee_background_9",)]


def test_a_held_lock_is_waited_for_then_reported(tmp_path):
    db = tmp_path / "held.duckdb"
    holder = duckdb.connect(str(db))  # another process's long write, as far as polyuni can tell
    try:
        started = time.monotonic()
        result = subprocess.run([*POLYUNI, "--db", str(db), "--lock-timeout", "1.5", "runs"], capture_output=True, text=True)
        waited = time.monotonic() - started
    finally:
        holder.close()
    # a line when it starts waiting, naming the holder, then the one-line error
    waiting, error = result.stderr.strip().splitlines()
    assert waiting.startswith(f"waiting for held.duckdb, held by PID {os.getpid()} (python")
    assert result.returncode == 1 and "in use by another process (waited 1.5 s)" in error and waited >= 1.5


def test_mlflow_down_then_synced(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from polyuni_db.runs.tracking import tracking_uri

    db = tmp_path / "m.duckdb"
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file://{blocker}/mlruns")
    result = ingest(TrainedSource(load_corpus("corpus_bark"), 2, 1), db, settings=AnalysisSettings(top_k=2))
    assert result.mlflow_error
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    (synced,) = sync_mlflow(db)
    assert synced.label == "corpus_bark_2" and synced.mlflow_run_id and synced.mlflow_error is None
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT mlflow_status, mlflow_run_id FROM runs").fetchone() == ("logged", synced.mlflow_run_id)
    logged = MlflowClient(tracking_uri(db)).get_run(synced.mlflow_run_id)
    assert logged.data.params["vectors.corpus.name"] == "corpus_bark"
    assert sync_mlflow(db) == []


def test_nan_infinite_and_zero_vectors_are_kept_out_of_rankings_and_counted(tmp_path):
    path = tmp_path / "odd.txt"
    rows = ["ok1 1 0 0", "ok2 0 1 0", "ok3 0 0 1", "ok4 1 1 0", "ok5 0 1 1", "bad nan 1 0", "huge inf 0 0", "zero 0 0 0"]
    path.write_text(f"{len(rows)} 3\n" + "\n".join(rows) + "\n")
    db = tmp_path / "odd.duckdb"
    ingest(FileSource(path, "word2vec-text"), db, label="odd", track=False,
           settings=AnalysisSettings(top_k=3, pairs=(("ok1", "bad"), ("ok1", "ok2"))))
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT n_unrankable, vocab_size FROM runs").fetchone() == (3, 8)
        ranked = {word for (word,) in connection.execute("SELECT word FROM dimension_words").fetchall()}
        assert ranked <= {"ok1", "ok2", "ok3", "ok4", "ok5"}
        statuses = dict(connection.execute("SELECT word_b, status FROM difference_pairs").fetchall())
        assert statuses == {"bad": "zero or non-finite vector", "ok2": "computed"}
    assert_consistent(db)


FORMATS = ("word2vec-bin", "word2vec-text", "glove-text")


def valid_file_bytes(fmt: str, tmp_path) -> bytes:
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(3)
    keyed.add_vectors(["alpha", "beta", "gamma"], np.arange(9, dtype=np.float32).reshape(3, 3) + 1)
    path = tmp_path / f"valid.{fmt}"
    keyed.save_word2vec_format(str(path), binary=fmt == "word2vec-bin", write_header=fmt != "glove-text")
    return path.read_bytes()


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(FORMATS), data=st.data())
def test_fuzzed_vectors_files_give_a_clear_error_or_vectors(tmp_path, fmt, data):
    valid = valid_file_bytes(fmt, tmp_path)
    content = data.draw(st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(valid)).map(lambda n: valid[:n]),  # truncations
        st.tuples(st.text(max_size=20), st.integers(0, len(valid))).map(  # wrong headers
            lambda t: t[0].encode("utf-8", "replace") + b"\n" + valid[t[1]:]),
        st.tuples(st.integers(-5, 10**12), st.integers(-5, 10**9)).map(
            lambda h: f"{h[0]} {h[1]}\n".encode() + valid.split(b"\n", 1)[-1]),
    ))
    path = tmp_path / "fuzzed.vec"
    path.write_bytes(content)
    try:
        embedding = read_vectors(path, fmt)
    except PolyuniError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert len(embedding.words) == embedding.vectors.shape[0] and embedding.dim >= 1


@settings(max_examples=25, deadline=20000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 200), fmt=st.sampled_from(FORMATS))
def test_fuzzed_files_never_leave_a_partial_run(tmp_path, cut, fmt):
    path = tmp_path / "cut.vec"
    valid = valid_file_bytes(fmt, tmp_path)
    path.write_bytes(valid[: max(0, len(valid) - cut)])
    db = tmp_path / f"fuzz-{cut}-{fmt}.duckdb"
    try:
        ingest(FileSource(path, fmt), db, label="cut", track=False, settings=AnalysisSettings(top_k=1, pairs=()))
    except PolyuniError:
        pass
    assert_consistent(db)
