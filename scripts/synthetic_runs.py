"""Make a findings database of synthetic runs and time the cross-model views on it.

    python scripts/synthetic_runs.py --db /tmp/synthetic.duckdb --runs 200 --dims 300

Runs are spread over a few vocabularies that overlap pairwise (as runs over a few corpora do);
dimension words are drawn with a skew towards frequent words, so that pairs share some. The last
line printed is JSON with the timings.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from datetime import datetime, timezone

import duckdb
import numpy as np
import pyarrow as pa

from polyuni_db.runs.pipeline import fingerprint
from polyuni_db.store.write import write_run


def build(db: Path, runs: int, dims: int, vocab: int, vocabularies: int, top_k: int) -> None:
    """Each synthetic run goes in through the library's write_run, as an ingest's would."""
    rng = np.random.default_rng(42)
    shift = vocab // 2  # vocabulary v holds words v·shift .. v·shift + vocab - 1
    ranks = np.arange(vocab)
    n_dimension_words = dims * 2 * top_k
    for run_id in range(1, runs + 1):
        first = (run_id % vocabularies) * shift
        word_stats = pa.table({
            "word": pa.array([f"w{first + i}" for i in ranks]),
            "rank": pa.array(ranks + 1, pa.int32()),
            "count": pa.array(vocab - ranks, pa.int64()),
            "norm": pa.array(np.ones(vocab, np.float32)),
            "trained": pa.array(np.ones(vocab, bool)),
        })
        drawn = first + np.floor(vocab * rng.random(n_dimension_words) ** 3).astype(np.int64)
        dimension_words = pa.table({
            "dimension": pa.array(np.repeat(np.arange(dims), 2 * top_k), pa.int32()),
            "pole": pa.array(np.tile(np.repeat(["max", "min"], top_k), dims)),
            "rank": pa.array(np.tile(np.arange(1, top_k + 1), 2 * dims), pa.int32()),
            "word": pa.array([f"w{i}" for i in drawn]),
            "similarity": pa.array(np.full(n_dimension_words, 0.5, np.float32)),
        })
        parameters = {"vectors": {"source": "synthetic", "run": run_id, "vocab": vocab, "dims": dims}}
        write_run(db, {
            "label": f"syn_{run_id:03d}", "fingerprint": fingerprint(parameters), "source": "train",
            "model_name": "word2vec-sg", "corpus": f"corpus_{run_id % vocabularies}", "dim": dims, "seed": run_id,
            "top_k": top_k, "parameters": parameters, "vocab_size": vocab, "n_untrained": 0, "n_unrankable": 0,
            "mean_norm": 1.0, "load_seconds": 0.0, "analysis_seconds": 0.0, "mlflow_run_id": None,
            "mlflow_status": "skipped", "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }, {"word_stats": word_stats, "dimension_words": dimension_words})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="a new DuckDB file to write")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dims", type=int, default=300)
    parser.add_argument("--vocab", type=int, default=50_000, help="words per run")
    parser.add_argument("--vocabularies", type=int, default=10, help="distinct vocabularies")
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    if args.db.exists():
        parser.error(f"{args.db} exists; give a new file")

    started = time.perf_counter()
    build(args.db, args.runs, args.dims, args.vocab, args.vocabularies, args.top_k)
    built = time.perf_counter() - started
    timings = {}
    with duckdb.connect(str(args.db), read_only=True) as con:
        for view in ("model_overlap", "dimension_word_sets", "duplicate_dimension_words"):
            started = time.perf_counter()
            n_rows = len(con.execute(f"SELECT * FROM {view}").fetchall())
            timings[view] = {"rows": n_rows, "seconds": round(time.perf_counter() - started, 2)}
            print(f"{view:<28} {n_rows:>8} rows  {timings[view]['seconds']:>6.2f} s")
    print(json.dumps({"runs": args.runs, "dims": args.dims, "vocab": args.vocab,
                      "vocabularies": args.vocabularies, "build_seconds": round(built, 1), **timings}))


if __name__ == "__main__":
    main()
