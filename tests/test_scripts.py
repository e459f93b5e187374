"""Every script in scripts/ runs at a small size, so that none can rot unnoticed (issue 14, case 10:
synthetic_runs.py had its own column list and broke when the schema moved on)."""
from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SMALL = {
    "synthetic_runs.py": ["--runs", "3", "--dims", "4", "--vocab", "60", "--vocabularies", "2", "--top-k", "3"],
    "bench_google_news_scale.py": ["--sizes", "500", "--dim", "8", "--pairs", "0", "--end-to-end-size", "800",
                                   "--no-mlflow"],
    "bench_executor.py": ["--sweep", str(SCRIPTS / "sweeps" / "tiny.toml"), "--executors", "inline",
                          "--no-mlflow"],
    "toy_convergence.py": ["--seeds", "1", "--epochs", "2", "4"],
}


def test_every_script_has_a_smoke_test():
    assert sorted(path.name for path in SCRIPTS.glob("*.py")) == sorted(SMALL)


@pytest.mark.parametrize("script", sorted(SMALL))
def test_script_runs_at_a_small_size(script, tmp_path, monkeypatch, capsys):
    args = [*SMALL[script], *(["--db", str(tmp_path / "s.duckdb")] if script == "synthetic_runs.py" else [])]
    monkeypatch.setattr(sys, "argv", [str(SCRIPTS / script), *args])
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(SCRIPTS / script), run_name="__main__")  # in this process: no second start-up
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])  # each script ends with a JSON line
    if script == "synthetic_runs.py":
        assert summary["model_overlap"]["rows"] == 3  # every pair of the three runs
    elif script == "bench_executor.py":
        assert summary["of"] == summary["over"] == "inline" and summary["speedup"] > 0
    elif script == "toy_convergence.py":
        from polyuni_db.study import plan

        toy_corpora = list(dict.fromkeys(run.label.split("_trained")[0].rsplit("_", 1)[0] for run in plan("blog")
                                         if "_trained" in run.label))
        assert list(summary) == toy_corpora  # relative to the longest training, which is 1
        assert all(summary[name]["4"]["share_of_longest"] == 1 and summary[name]["2"]["late_loss"] > 0
                   for name in toy_corpora)
    else:
        assert summary["vocab"] == 800 and summary["write_s"] >= 0
