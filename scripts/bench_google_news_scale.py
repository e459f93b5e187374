"""Google-News-size benchmarks, on synthetic matrices (the real model is 3.6 GB and needs internet).

    python scripts/bench_google_news_scale.py [--sizes 1000000 3000000] [--gensim-dims N] [--skip-end-to-end]
        [--dim 300] [--pairs 100] [--end-to-end-size 3000000] [--no-mlflow]

1. `polyuni bench` at each size: dimension words against the notebook's gensim loop, and 100
   difference pairs on GloVe.
2. One 3,000,000 x 300 run end to end after loading: kernels, word_stats for every word through
   Arrow into DuckDB, MLflow; with the process's peak memory against the matrix's size.
Each part prints a JSON line.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def end_to_end(vocab: int, dim: int, mlflow: bool = True) -> dict:

    from polyuni_db.bench import synthetic_matrix
    from polyuni_db.runs.findings import AnalysisSettings, analyse
    from polyuni_db.runs.pipeline import fingerprint
    from polyuni_db.sources.base import Embedding
    from polyuni_db.store.write import write_run
    from polyuni_db.runs.tracking import log_run

    vectors = synthetic_matrix(vocab, dim)
    words = [f"w{i:07d}" for i in range(vocab)]
    embedding = Embedding(words=words, vectors=vectors)
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    settings = AnalysisSettings(top_k=10, pairs=(("w0000001", "w0000002"), ("w0000003", "w0000004")))
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "gn.duckdb"
        started = time.perf_counter()
        findings = analyse(embedding, settings)
        analysed = time.perf_counter()
        parameters = {"vectors": {"source": "synthetic", "vocab": vocab, "dim": dim}, "analysis": settings.spec()}
        run = {"label": "synthetic_google_news", "fingerprint": fingerprint(parameters), "source": "file",
               "model_name": "synthetic", "corpus": None, "seed": None, "dim": dim, "top_k": 10,
               "parameters": parameters, **findings.summary, "load_seconds": 0.0,
               "analysis_seconds": analysed - started, "mlflow_run_id": None, "mlflow_status": "pending",
               "created_at": __import__("datetime").datetime.now()}
        write_run(db, run, findings.tables)
        written = time.perf_counter()
        if mlflow:
            log_run(db, "synthetic_google_news", parameters, {"vocab_size": vocab},
                    {name: findings.tables[name] for name in ("dimension_words", "difference_neighbours")})
        logged = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"vocab": vocab, "dim": dim, "analyse_s": round(analysed - started, 2),
            "write_s": round(written - analysed, 2), "mlflow_s": round(logged - written, 2),
            "total_after_loading_s": round(logged - started, 2), "matrix_mb": round(vectors.nbytes / 2**20),
            "peak_rss_mb": round(peak_mb), "rss_before_run_mb": round(baseline_mb),
            "peak_over_matrix": round(peak_mb / (vectors.nbytes / 2**20), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--gensim-dims", type=int, help="time the gensim loop on this many dimensions only")
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--dim", type=int, default=300, help="dimensions of every matrix (default: 300)")
    parser.add_argument("--pairs", type=int, default=100, help="difference pairs timed on GloVe (default: 100)")
    parser.add_argument("--end-to-end-size", type=int, default=3_000_000, metavar="N",
                        help="words of the end-to-end run (default: 3000000)")
    parser.add_argument("--no-mlflow", action="store_true", help="leave MLflow out of the end-to-end run")
    args = parser.parse_args()
    for size in args.sizes:
        command = [sys.executable, "-m", "polyuni_db.cli", "bench", "--vocab", str(size), "--dim", str(args.dim),
                   "--pairs", str(args.pairs)]
        if args.gensim_dims:
            command += ["--gensim-dims", str(args.gensim_dims)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        print(output.strip().splitlines()[-1], flush=True)
    if not args.skip_end_to_end:
        print(json.dumps(end_to_end(args.end_to_end_size, args.dim, not args.no_mlflow)), flush=True)


if __name__ == "__main__":
    main()
