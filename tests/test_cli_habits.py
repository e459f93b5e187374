"""The command line fits habits: global options anywhere, runs filtered and formatted, tables that read,
and a --help for every command that says what it does and shows it."""
from __future__ import annotations

import csv
import io
import json

import pytest

from polyuni_db.cli import SWEEP_FILE, every_command, help_texts, main
from polyuni_db.runs.sweep import load_sweep


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Two runs on corpus_4 and one on corpus_food, ingested with --db after the command."""
    db = tmp_path_factory.mktemp("habits") / "habits.duckdb"
    for corpus, dims in (("corpus_4", ["2", "3"]), ("corpus_food", ["2"])):
        assert main(["ingest", "train", "--corpus", corpus, "--dims", *dims, "--no-mlflow", "--executor", "inline",
                     "--db", str(db), "--lock-timeout", "5"]) == 0
    return db


def test_global_options_go_before_or_after_the_command(stored, capsys):
    capsys.readouterr()
    assert main(["sql", "SELECT 1 AS x", "--db", str(stored)]) == 0
    after = capsys.readouterr().out
    assert main(["--db", str(stored), "--lock-timeout", "3", "sql", "SELECT 1 AS x"]) == 0
    assert capsys.readouterr().out == after == "x\n-\n1\n"
    # an option given after the command wins over the same one given before it
    assert main(["--db", str(stored.with_name("elsewhere.duckdb")), "runs", "--db", str(stored)]) == 0
    assert "corpus_food_2" in capsys.readouterr().out


def test_sql_tables_show_four_significant_digits_csv_and_json_every_digit(stored, capsys):
    query = "SELECT 0.047619047619047616 AS p, 1 / 21 AS q, [1 / 3, 2 / 3] AS l, 123456789 AS n"
    assert main(["sql", query, "--db", str(stored)]) == 0
    assert capsys.readouterr().out.splitlines()[2].split("  ") == ["0.04762", "0.04762", "[0.3333, 0.6667]", "123456789"]
    assert main(["sql", query, "--db", str(stored), "--format", "csv"]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["p"] == row["q"] == "0.047619047619047616" and row["n"] == "123456789"
    assert main(["sql", query, "--db", str(stored), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["p"] == row["q"] == 1 / 21 and row["l"] == [1 / 3, 2 / 3]


def test_runs_filters_and_formats(stored, capsys):
    capsys.readouterr()
    assert main(["runs", "--db", str(stored), "--like", "corpus_4%", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["label"] for row in rows] == ["corpus_4_2", "corpus_4_3"]
    assert main(["runs", "--db", str(stored), "--corpus", "corpus_food", "--source", "train", "--format", "json"]) == 0
    assert [row["label"] for row in json.loads(capsys.readouterr().out)] == ["corpus_food_2"]
    assert main(["runs", "--db", str(stored), "--source", "pretrained"]) == 0
    assert capsys.readouterr().out.startswith("no runs in")
    assert main(["runs", "--db", str(stored)]) == 0
    table = capsys.readouterr().out.splitlines()
    header, rule = table[0], table[1]
    # every column as wide as its longest value or name, times to the second
    assert all(len(line) <= len(rule) for line in table) and header.split()[1] == "label"
    assert rule.split()[1] == "-" * len("corpus_food_2") and not any("." in line.split()[-1] for line in table[2:])


def test_every_command_has_a_description_and_an_example():
    for prog, parser in every_command():
        assert parser.description and "\n" not in parser.description.strip()[:80], prog
        assert "example" in parser.format_help(), prog
    assert {prog for prog, _, _ in help_texts()} >= {"polyuni runs", "polyuni ingest control rotate"}


def test_sweep_help_shows_a_complete_sweep_file_that_loads(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["sweep", "--help"])
    assert SWEEP_FILE in capsys.readouterr().out
    path = tmp_path / "my_study.toml"
    path.write_text(SWEEP_FILE, encoding="utf-8")
    sweep = load_sweep(path)
    sections = {name for name, value in sweep.file if value not in (None, [])}
    assert sections == set(type(sweep.file).model_fields) and len(sweep.runs) == 16
