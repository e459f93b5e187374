"""Issue 23's cases beyond a bundle's content: sweeps that fail say so in their exit status, scale and
memory are refused before any work, and nothing is left behind. Each runs the console entry point in
this process, with the inline executor or none at all (no Dask cluster is started)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb
import numpy as np
import pytest

from polyuni_db.errors import quiet_numerics
from polyuni_db.runs.bundle import compute_run
from polyuni_db.runs.findings import AnalysisSettings, analysis_bytes
from polyuni_db.runs.pipeline import run_identity
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource
from tests.test_misuse import one_line_error, polyuni


def sweep_file(tmp_path, text: str):
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def files_under(folder) -> set:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("grid, fragment", [
    ('dims = ["a"]', "[train] dims: input should be a valid integer"),
    ("dims = [1.5]", "[train] dims: input should be a valid integer"),
    ("dims = [100000000]", "[train] dims: input should be less than or equal to 100000"),
    ("dims = [-1]", "[train] dims: input should be greater than or equal to 1"),
    ("dims = [2]\nseeds = [-1]", "[train] seeds: input should be greater than or equal to 0"),
    ("dims = [2]\nseeds = [2147483648]", "[train] seeds: input should be less than or equal to 2147483647"),
])
def test_a_malformed_grid_is_one_line_before_any_work(tmp_path, capsys, grid, fragment):
    path = sweep_file(tmp_path, f'[train]\ncorpora = ["corpus_2"]\n{grid}\n')
    code, out, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor", "inline", "--no-mlflow")
    assert code == 1
    one_line_error(err, fragment)
    assert files_under(tmp_path) == {"sweep.toml"}


def test_corpora_must_be_names(tmp_path, capsys):
    path = sweep_file(tmp_path, "[train]\ncorpora = [1]\ndims = [2]\n")
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor", "inline")
    assert code == 1
    one_line_error(err, "[train] corpora: input should be a valid string")


@pytest.mark.parametrize("extra, fragment", [
    (["--executor", "tcp://"], "tcp://HOST:PORT"),
    (["--executor", "local:9"], "add --yes"),  # more than 4 workers per core (this test runs on up to 2)
])
def test_a_wrong_or_outsized_executor_is_one_line(tmp_path, capsys, extra, fragment):
    if extra[1] == "local:9" and len(os.sched_getaffinity(0)) > 2:
        pytest.skip("needs at most 2 cores")
    path = sweep_file(tmp_path, '[train]\ncorpora = ["corpus_2"]\ndims = [2]\n')
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, *extra)
    assert code == 1
    one_line_error(err, fragment)
    assert files_under(tmp_path) == {"sweep.toml"}


def test_a_grid_of_more_than_10000_runs_needs_yes(tmp_path, capsys):
    path = sweep_file(tmp_path, '[train]\ncorpora = ["corpus_2"]\ndims = [' + ", ".join(map(str, range(1, 102)))
                      + "]\nseeds = [" + ", ".join(map(str, range(100))) + "]\n")
    started = time.monotonic()
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor", "inline")
    assert code == 1 and time.monotonic() - started < 10
    one_line_error(err, "10,100 runs", "--yes")
    assert files_under(tmp_path) == {"sweep.toml"}


def test_an_unreachable_scheduler_fails_at_once_in_one_line(tmp_path, capsys):
    path = sweep_file(tmp_path, '[train]\ncorpora = ["corpus_2", "corpus_3"]\ndims = [2, 3]\n')
    started = time.monotonic()
    code, out, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor",
                             "tcp://127.0.0.1:1", "--no-mlflow")
    assert code == 1 and time.monotonic() - started < 10
    one_line_error(err, "cannot reach the Dask scheduler")


def test_a_sweep_with_a_failed_run_exits_1_after_its_summary(tmp_path, capsys):
    """And one without top_k ranks every word of a minimal corpus, as `polyuni ingest` does."""
    path = sweep_file(tmp_path, '[train]\ncorpora = ["corpus_2"]\ndims = [2]\n[pretrained]\nnames = ["no-such-model"]\n')
    code, out, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor", "inline",
                             "--no-mlflow")
    assert code == 1
    assert "sweep: 1 of 2 runs stored, 1 failed" in out
    assert err.strip().splitlines()[-1].startswith("polyuni: error: 1 of 2 runs failed (no-such-model)")
    with duckdb.connect(str(tmp_path / "p.duckdb"), read_only=True) as connection:
        assert connection.execute("SELECT label, top_k FROM runs").fetchall() == [("corpus_2_2", 2)]
        assert connection.execute("SELECT label FROM unavailable_sources").fetchall() == [("no-such-model",)]
    assert not list(tmp_path.glob(".polyuni-*"))


def test_bundles_in_a_file_are_refused_before_any_training(tmp_path, capsys):
    path = sweep_file(tmp_path, '[train]\ncorpora = ["corpus_2"]\ndims = [2]\n')
    (tmp_path / "afile.txt").write_text("")
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "sweep", path, "--executor", "inline",
                           "--bundles", tmp_path / "afile.txt")
    assert code == 1
    one_line_error(err, "is a file")
    assert files_under(tmp_path) == {"sweep.toml", "afile.txt"}


def test_dims_of_100000000_are_one_line_on_ingest(tmp_path, capsys):
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "ingest", "train", "--corpus", "corpus_food",
                           "--dims", "100000000", "--no-mlflow")
    assert code == 1
    one_line_error(err, "fewer --dims")


def test_the_memory_estimate_counts_the_ranking_buffers():
    """Per thread, a block of cosines and its mask: no larger than the vocabulary, whatever the block size."""
    assert analysis_bytes(9, 1000, 10, threads=2) - analysis_bytes(9, 1000, 10, threads=1) == 9 * 1000 * 5 + 2 * 10 * 1000 * 12
    assert analysis_bytes(100_000, 100, 10, threads=1) > 2048 * 100 * 5


def test_a_label_with_control_characters_is_refused_on_ingest(tmp_path, capsys):
    code, _, err = polyuni(capsys, "--db", tmp_path / "p.duckdb", "ingest", "train", "--corpus", "corpus_2",
                           "--dims", "2", "--label", "a\x1b[31m\nb", "--no-mlflow")
    assert code == 2 and "\x1b" not in err and "printable" in err
    assert files_under(tmp_path) == set()


def test_a_reference_of_another_corpus_is_refused_before_the_planted_run_is_stored(tmp_path, capsys):
    db = tmp_path / "p.duckdb"
    assert polyuni(capsys, "--db", db, "ingest", "train", "--corpus", "corpus_bark", "--dims", "3",
                   "--no-mlflow")[0] == 0
    code, _, err = polyuni(capsys, "--db", db, "ingest", "train", "--corpus", "corpus_food", "--dims", "3",
                           "--merge", "Dog:Cat", "--reference", "corpus_bark_3", "--no-mlflow")
    assert code == 1
    one_line_error(err, "corpus_bark", "planted")
    with duckdb.connect(str(db), read_only=True) as connection:
        assert connection.execute("SELECT label FROM runs").fetchall() == [("corpus_bark_3",)]


def test_killed_commands_work_folders_are_removed_by_the_next(tmp_path, capsys):
    """SIGKILL (or SIGTERM) runs no clean-up: the next command removes the folders of processes gone."""
    gone = tmp_path / ".polyuni-bundles-999999999-abc"  # no such process
    alive = tmp_path / f".polyuni-bundles-{os.getppid()}-abc"
    for folder in (gone, alive):
        folder.mkdir()
    assert polyuni(capsys, "--db", tmp_path / "p.duckdb", "ingest", "train", "--corpus", "corpus_2", "--dims", "2",
                   "--no-mlflow")[0] == 0
    assert not gone.exists() and alive.exists()


def test_concurrent_imports_leave_no_partial_vectors(tmp_path):
    analysis = AnalysisSettings(all_if_fewer=True)
    source = TrainedSource(load_corpus("corpus_food"), 3, 1)
    label, parameters, fingerprint = run_identity(source, None, analysis)
    compute_run(source, label, parameters, fingerprint, analysis, tmp_path / "bundles")
    imports = [subprocess.Popen([sys.executable, "-m", "polyuni_db.cli", "--db", str(tmp_path / "p.duckdb"), "import",
                                 str(tmp_path / "bundles"), "--no-mlflow"], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in imports]
    assert [process.returncode for process in imports] == [0, 0]
    assert sum("ingested" in output for output in outputs) == 1
    assert [path.name for path in (tmp_path / "p.vectors").iterdir()] == [f"{fingerprint}.npy"]


def test_numpy_warnings_are_kept_from_the_terminal(capfd):
    quiet_numerics()
    np.array([0.0]) / 0.0
    np.mean(np.array([]))
    assert capfd.readouterr().err == ""
