"""A real wheel: built from the checkout, installed into a fresh virtual environment outside it, its
`polyuni study --preset quick` and `polyuni report` work (migrations and templates ship inside it).

The wheel test is marked `slow`: `make test` leaves it out (it takes a minute); .ci/run runs it
after the suite.
The new environment gets the project environment's dependencies through a .pth line (no download),
but polyuni itself only from the wheel: the test checks where polyuni_db is imported from.
"""
from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]



def test_every_package_and_data_folder_goes_into_the_wheel():
    """pyproject.toml lists the packages by hand (to map migrations/ and reports/templates/ into one):
    a new subpackage must be listed too, or the wheel would lack it."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "polyuni_db").rglob("*.py")}
    folders |= {".".join(path.parent.parent.relative_to(ROOT).parts) for path in (ROOT / "polyuni_db").rglob("*.sql")}
    assert folders <= listed, folders - listed


def run(*command, cwd, env=None):
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=900,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


@pytest.mark.slow
def test_the_built_wheel_makes_a_database_and_a_report(tmp_path):
    dist = tmp_path / "dist"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("polyuni_db-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    # the project environment's packages, as a plain path: its .pth files (polyuni's editable finder
    # among them) are not processed from there, so polyuni can come only from the wheel
    (purelib / "project-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)

    where = run(python, "-c", "import polyuni_db, polyuni_db.resources as r; print(polyuni_db.__file__); "
                "print(r.resource_folder('migrations')); print(r.resource_folder('templates'))", cwd=tmp_path)
    module, migrations, templates = (Path(line) for line in where.split())
    for path in (module, migrations, templates):
        assert purelib in path.parents and ROOT not in path.parents, where

    work = tmp_path / "elsewhere"
    work.mkdir()
    polyuni = venv / "bin" / "polyuni"
    listed = run(polyuni, "study", "--list", cwd=work)  # the presets ship inside the wheel
    assert {"blog", "quick", "controls", "families"} <= {line.split()[0] for line in listed.splitlines()}
    out = run(polyuni, "--db", "w.duckdb", "study", "--preset", "quick", "--no-mlflow", "--out", "study", cwd=work)
    assert "report:" in out and (work / "study" / "index.html").is_file()
    run(polyuni, "--db", "w.duckdb", "report", "--out", "page", cwd=work)
    page = (work / "page" / "index.html").read_text(encoding="utf-8")
    assert "corpus_4_2" in page and "glove" in page
