"""How the database and the report scale with the number of runs.

    python scripts/bench_scale.py --runs 1000 [--vocab 20000 --dims 50 --vocabularies 10] [--folder DIR]

Synthesises N runs as run bundles (random vectors over a few vocabularies that overlap pairwise, as
runs over a few corpora do; dimension words drawn with a skew towards frequent words), imports them
with the committer `polyuni import` uses, then times: the import (runs per second), every view of
the database (each read whole), `polyuni runs` (list_runs) and the report (render_report), with
the page's size. The last line printed is JSON. Nothing outside ``--folder`` (default: a temporary
folder, removed at the end) is written.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from polyuni_db.runs.bundle import publish
from polyuni_db.runs.pipeline import commit_bundle, fingerprint


def synthetic_bundle(root: Path, number: int, vocab: int, dims: int, vocabularies: int, top_k: int,
                     rng: np.random.Generator) -> Path:
    """One run's bundle, as a worker would publish it (``bundle._write``'s layout)."""
    from polyuni_db.runs.bundle import _write

    shift = vocab // 2  # vocabulary v holds words v·shift .. v·shift + vocab - 1
    first = (number % vocabularies) * shift
    ranks = np.arange(vocab)
    n_dimension_words = dims * 2 * top_k
    drawn = first + np.floor(vocab * rng.random(n_dimension_words) ** 3).astype(np.int64)
    tables = {
        "word_stats": pa.table({
            "word": pa.array([f"w{first + i}" for i in ranks]), "rank": pa.array(ranks + 1, pa.int32()),
            "count": pa.array(vocab - ranks, pa.int64()), "norm": pa.array(np.ones(vocab, np.float32)),
            "trained": pa.array(np.ones(vocab, bool)), "moved": pa.array(np.ones(vocab, np.float64)),
        }),
        "dimension_words": pa.table({
            "dimension": pa.array(np.repeat(np.arange(dims), 2 * top_k), pa.int32()),
            "pole": pa.array(np.tile(np.repeat(["max", "min"], top_k), dims)),
            "rank": pa.array(np.tile(np.arange(1, top_k + 1), 2 * dims), pa.int32()),
            "word": pa.array([f"w{i}" for i in drawn]),
            "similarity": pa.array(np.full(n_dimension_words, 0.5, np.float32)),
        }),
    }
    parameters = {"vectors": {"source": "synthetic", "run": number, "vocab": vocab, "dims": dims},
                  "analysis": {"top_k": top_k}}
    run = {"label": f"syn_{number:05d}", "fingerprint": fingerprint(parameters), "source": "train",
           "model_name": "word2vec-sg", "corpus": f"corpus_{number % vocabularies}", "dim": dims, "seed": number,
           "top_k": top_k, "parameters": parameters, "vocab_size": vocab, "n_untrained": 0, "n_unrankable": 0,
           "mean_norm": 1.0, "load_seconds": 0.0, "analysis_seconds": 0.0,
           "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}
    vectors = rng.standard_normal((vocab, dims), dtype=np.float32)
    return publish(root, run["fingerprint"], lambda folder: _write(folder, run, tables, vectors, None, {}, (), 0.0))


def timed(function, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, round(time.perf_counter() - started, 3)


def measure(folder: Path, runs: int, vocab: int, dims: int, vocabularies: int, top_k: int) -> dict:
    from polyuni_db.report import render_report
    from polyuni_db.store.db import connect
    from polyuni_db.store.read import list_runs

    rng = np.random.default_rng(42)
    bundles, db = folder / "bundles", folder / "scale.duckdb"
    paths, synthesis = timed(lambda: [synthetic_bundle(bundles, n, vocab, dims, vocabularies, top_k, rng)
                                      for n in range(1, runs + 1)])
    _, imported = timed(lambda: [commit_bundle(db, path, track=False) for path in paths])
    views = {}
    connection = connect(db, read_only=True)
    try:
        names = [name for (name,) in connection.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY view_name"
        ).fetchall()]
        for name in names:
            rows, seconds = timed(lambda: connection.execute(f'SELECT * FROM "{name}"').fetchall())
            views[name] = {"rows": len(rows), "seconds": seconds}
    finally:
        connection.close()
    (_, listed), runs_seconds = timed(list_runs, db)
    timings: dict = {}
    page, report_seconds = timed(render_report, db, folder / "report", timings=timings)
    return {
        "runs": runs, "vocab": vocab, "dims": dims, "vocabularies": vocabularies,
        "synthesis_seconds": synthesis, "import_seconds": imported,
        "import_runs_per_second": round(runs / imported, 2) if imported else None,
        "views": views, "slowest_view": max(views.items(), key=lambda item: item[1]["seconds"])[0] if views else None,
        "polyuni_runs_seconds": runs_seconds, "polyuni_runs_rows": len(listed),
        "report_seconds": report_seconds, "report_read_seconds": round(timings["read_seconds"], 3),
        "report_bytes": page.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--vocab", type=int, default=20_000, help="words per run")
    parser.add_argument("--dims", type=int, default=50)
    parser.add_argument("--vocabularies", type=int, default=10, help="distinct vocabularies")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--folder", type=Path, help="keep the bundles, database and report here (a new folder)")
    args = parser.parse_args()
    if args.folder is not None and args.folder.exists():
        parser.error(f"{args.folder} exists; give a new folder")
    with tempfile.TemporaryDirectory(prefix="polyuni-scale-") as scratch:
        folder = args.folder or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        result = measure(folder, args.runs, args.vocab, args.dims, args.vocabularies, args.top_k)
    for name, view in result["views"].items():
        print(f"{name:<36} {view['rows']:>9} rows {view['seconds']:>8.3f} s")
    print(f"import {result['import_runs_per_second']} runs/s; polyuni runs {result['polyuni_runs_seconds']} s; "
          f"report {result['report_seconds']} s ({result['report_bytes']} bytes)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
