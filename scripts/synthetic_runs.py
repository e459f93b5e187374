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

import duckdb

from polyuni_db.store.read import init


def build(db: Path, runs: int, dims: int, vocab: int, vocabularies: int, top_k: int) -> None:
    init(db)
    shift = vocab // 2  # vocabulary v holds words v·shift .. v·shift + vocab - 1
    with duckdb.connect(str(db)) as con:
        con.execute("SELECT setseed(0.42)")
        con.execute(f"""
            INSERT INTO runs
            SELECT r, printf('syn_%03d', r), md5(r::VARCHAR), 'complete', 'train', 'word2vec-sg',
                   printf('corpus_%d', r % {vocabularies}), {dims}, r, {top_k}, '{{}}', {vocab}, 0, 0,
                   1.0, 0.0, 0.0, NULL, 'skipped', now()::TIMESTAMP
            FROM range(1, {runs} + 1) AS t(r)""")
        con.execute(f"""
            INSERT INTO word_stats
            SELECT r, 'w' || ((r % {vocabularies}) * {shift} + i), i + 1, {vocab} - i, 1.0, true
            FROM range(1, {runs} + 1) AS a(r), range({vocab}) AS b(i)""")
        con.execute(f"""
            INSERT INTO dimension_words
            SELECT r, d, pole, k,
                   'w' || ((r % {vocabularies}) * {shift} + floor({vocab} * pow(random(), 3))::BIGINT),
                   0.5
            FROM range(1, {runs} + 1) AS a(r), range({dims}) AS b(d),
                 (VALUES ('max'), ('min')) AS c(pole), range(1, {top_k} + 1) AS e(k)""")


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
