"""The command line as a user meets it: output, exit codes, one-line errors, read-only SQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from polyuni_db.cli import main


def polyuni(*args, env=None, cwd=None):
    """The real console entry point in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "polyuni_db.cli", *args],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=300,
    )


def test_train_grid_then_runs_and_sql(db, capsys):
    code = main(["--db", str(db), "ingest", "train", "--corpus", "corpus_capital", "--dims", "2", "3",
                 "--seeds", "1", "2", "--top-k", "3", "--no-mlflow"])
    assert code == 0
    out = capsys.readouterr().out
    for label in ("corpus_capital_2", "corpus_capital_2_s2", "corpus_capital_3", "corpus_capital_3_s2"):
        assert f"{label}: ingested" in out
    assert "pairs not computed: squirrel:phone (missing squirrel, phone); potato:square" in out
    assert main(["--db", str(db), "runs"]) == 0
    assert capsys.readouterr().out.count("corpus_capital_") == 4
    assert main(["--db", str(db), "sql", "SELECT label, dim FROM runs ORDER BY label", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0] == {"label": "corpus_capital_2", "dim": 2} and len(rows) == 4
    assert main(["--db", str(db), "sql", "SELECT count(*) AS n FROM word_stats", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", str(4 * 16)]  # 16 words, 4 runs


def test_label_template_must_tell_runs_apart(db, capsys):
    assert main(["--db", str(db), "ingest", "train", "--corpus", "corpus_2", "--dims", "2", "3",
                 "--label", "x_{seed}", "--no-mlflow"]) == 1
    assert "needs {dim}" in capsys.readouterr().err
    assert main(["--db", str(db), "ingest", "train", "--corpus", "corpus_2", "--dims", "2",
                 "--label", "x_{size}", "--no-mlflow"]) == 1
    assert "may use only {corpus}, {dim} and {seed}" in capsys.readouterr().err


def test_sql_refuses_writes_and_changes_nothing(db, capsys):
    main(["--db", str(db), "ingest", "train", "--corpus", "corpus_3", "--dims", "2", "--top-k", "2", "--no-mlflow"])
    capsys.readouterr()
    for statement in ("DELETE FROM runs", "DROP TABLE word_stats", "CREATE TABLE x (a INT)"):
        assert main(["--db", str(db), "sql", statement]) == 1
        err = capsys.readouterr().err
        assert "read-only" in err and len(err.strip().splitlines()) == 1
    main(["--db", str(db), "sql", "SELECT count(*) FROM runs", "--format", "csv"])
    assert capsys.readouterr().out.splitlines()[1] == "1"


def test_errors_are_one_line_without_traceback(tmp_path):
    not_db = tmp_path / "notes.duckdb"
    not_db.write_text("these are my notes, not a database\n")
    bad_corpus = tmp_path / "bad.txt"
    bad_corpus.write_bytes(b"\xff\xfe\x00 broken\n")
    assert polyuni("--db", str(tmp_path / "a.duckdb"), "init").returncode == 0
    cases = [
        (["--db", str(not_db), "runs"], "is not a DuckDB database"),
        (["--db", str(not_db), "ingest", "train", "--corpus", "corpus_2", "--dims", "2", "--top-k", "1",
          "--no-mlflow"], "is not a DuckDB database"),
        (["--db", str(tmp_path / "none.duckdb"), "sql", "SELECT 1"], "no database at"),
        (["ingest", "train", "--corpus", "nope", "--dims", "2"], "corpus 'nope' not found"),
        (["ingest", "train", "--corpus", str(bad_corpus), "--dims", "2"], "is not UTF-8"),
        (["ingest", "train", "--corpus", "corpus_2", "--dims", "2", "--top-k", "10", "--no-mlflow"],
         "top-k 10 is larger"),
        (["ingest", "file", str(tmp_path / "x.bin"), "--format", "word2vec-bin", "--label", "x"], "no vectors file"),
    ]
    for args, message in cases:
        result = polyuni(*args, cwd=tmp_path)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    # nothing was written into the file that is not a database
    assert not_db.read_text() == "these are my notes, not a database\n"


@pytest.mark.parametrize("args", [["--dims", "0"], ["--dims", "2", "--top-k", "0"], ["--pairs", "nocolon"]])
def test_bad_arguments_are_usage_errors(args):
    result = polyuni("ingest", "train", "--corpus", "corpus_2", *([] if "--dims" in args else ["--dims", "2"]), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("polyuni ingest train: error:")


def test_help_is_readable():
    result = polyuni("--help")
    assert result.returncode == 0
    for command in ("init", "ingest", "runs", "sql", "examples:"):
        assert command in result.stdout
    train_help = polyuni("ingest", "train", "--help").stdout
    assert "--dims D [D ...]" in train_help and "--min-count" in train_help


def test_a_trained_run_is_reproducible_across_processes(tmp_path):
    """Same fingerprint, same rows, whatever Python's hash salt."""
    dumps = []
    for hash_seed in ("1", "12345"):
        db = tmp_path / f"run{hash_seed}.duckdb"
        result = polyuni("--db", str(db), "ingest", "train", "--corpus", "lee_background", "--dims", "12",
                         "--seeds", "7", "--no-mlflow", env={"PYTHONHASHSEED": hash_seed})
        assert result.returncode == 0, result.stderr
        dump = polyuni("--db", str(db), "sql", """
            SELECT fingerprint, (SELECT list(word || similarity ORDER BY dimension, pole, rank) FROM dimension_words),
                   (SELECT sum(norm) FROM word_stats) FROM runs""", "--format", "json")
        dumps.append(json.loads(dump.stdout))
    assert dumps[0] == dumps[1]
