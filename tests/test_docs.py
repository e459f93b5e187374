"""Every code example of the README and the documentation site runs, and the site builds with --strict.

A block that cannot run here (a whole preset, big downloads, a server, several machines) says so on the
line before it, ``<!-- not run: why -->``, which the site does not show. ``<!-- file: NAME -->`` before
a block means "save this as NAME": the test writes it where the page's commands run. The SQL of
docs/SCHEMA.md is run by tests/test_schema_docs.py against a richer database.
"""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from polyuni_db.cli import main
from polyuni_db.store.read import read_only_query
from tests.conftest import ROOT

PAGES = [ROOT / "README.md", *sorted(path for path in (ROOT / "docs").glob("*.md") if path.name != "SCHEMA.md")]
RUNNABLE = {"sh", "sql", "python", "toml"}
OUTPUT = {"text"}  # what a command prints: shown, not run
MARK = re.compile(r"<!-- (not run|file): (.*?) -->")


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    language: str
    code: str
    mark: tuple[str, str] | None  # ("not run", why) or ("file", name)

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def examples(page: Path) -> list[Example]:
    """The fenced code blocks of a page, in order, each with the mark on the line before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        opening = re.fullmatch(r"\s*```(\w*)\s*", lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if re.fullmatch(r"\s*```\s*", lines[i]))
        mark = MARK.fullmatch(lines[index - 1].strip()) if index else None
        code = textwrap.dedent("\n".join(lines[index + 1:end]))
        found.append(Example(page, index + 1, opening.group(1), code, mark.groups() if mark else None))
        index = end + 1
    return found


def commands(code: str) -> list[list[str]]:
    """The commands of a shell block: lines joined across quotes and trailing backslashes, comments dropped."""
    result, pending = [], ""
    for line in code.splitlines():
        pending += line + "\n"
        if pending.rstrip().endswith("\\"):
            continue
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quotation still open: the command goes on
            continue
        if words:
            result.append(words)
        pending = ""
    assert not pending.strip(), f"unfinished command: {pending}"
    return result


ALL = [example for page in PAGES for example in examples(page)]


@pytest.mark.parametrize("example", ALL, ids=str)
def test_every_block_is_run_or_says_why_not(example):
    assert example.language in RUNNABLE | OUTPUT, f"{example}: give the block a language ({', '.join(sorted(RUNNABLE))}, text)"
    if example.mark and example.mark[0] == "not run":
        assert example.mark[1].strip(), f"{example}: say why it is not run"


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """A small database every page's examples start from: the schema, and two cheap runs."""
    db = tmp_path_factory.mktemp("base") / "polyuni.duckdb"
    assert main(["--db", str(db), "ingest", "train", "--corpus", "corpus_4", "--dims", "2", "3", "--no-mlflow",
                 "--executor", "inline"]) == 0
    return db


def run_example(example: Example, folder: Path, capsys) -> None:
    if example.language == "toml":
        content = tomllib.loads(example.code)
        if example.mark and example.mark[0] == "file":
            (folder / example.mark[1]).write_text(example.code, encoding="utf-8")
        assert content, f"{example}: an empty TOML file"
    elif example.language == "sql":
        columns, _ = read_only_query(folder / "polyuni.duckdb", example.code)
        assert columns, example
    elif example.language == "python":
        exec(compile(example.code, str(example), "exec"), {})
    elif example.language == "sh":
        for words in commands(example.code):
            assert words[0] == "polyuni", f"{example}: only polyuni commands run here; mark the block <!-- not run: why -->"
            status = main(words[1:])
            captured = capsys.readouterr()
            assert status == 0, f"{example}: `{shlex.join(words)}` exited {status}: {captured.err}"


@pytest.mark.parametrize("page", [page for page in PAGES if any(
    e.language in RUNNABLE and not (e.mark and e.mark[0] == "not run") for e in examples(page))],
    ids=lambda page: page.name)
def test_examples_of_the_page_run_in_order(page, base_db, tmp_path, monkeypatch, capsys):
    """Each page's examples run in order in a folder of their own, as a reader would type them there."""
    shutil.copy(base_db, tmp_path / "polyuni.duckdb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POLYUNI_DB", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.sqlite'}")
    for example in examples(page):
        if example.language in RUNNABLE and not (example.mark and example.mark[0] == "not run"):
            run_example(example, tmp_path, capsys)


def test_the_site_builds_with_strict_and_has_the_cli_reference(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f",
                             str(ROOT / "mkdocs.yml"), "-d", str(site)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    reference = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "polyuni ingest train" in reference and "--lock-timeout" in reference
    assert "Five questions in SQL" in (site / "index.html").read_text(encoding="utf-8")
