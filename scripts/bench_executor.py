"""How much faster a study preset (or a sweep) runs on every core than on one worker, in one run.

    python scripts/bench_executor.py [--preset blog | --sweep FILE] [--executors local:1 local] [--no-mlflow]

Runs `polyuni study --preset PRESET --executor E` (or `polyuni sweep FILE --executor E`) for each
executor in turn, each into a fresh database in a temporary folder (so nothing is skipped), and
prints one JSON line per executor and one with the speed-up of the last over the first, with the
machine's load average before and after: on a shared machine other people's work slows either run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--preset", default="blog")
    what.add_argument("--sweep", type=Path, metavar="FILE", help="time a sweep file instead of a preset")
    parser.add_argument("--executors", nargs="+", default=["local:1", "local"])
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    polyuni = Path(sys.executable).with_name("polyuni")
    seconds = {}
    for executor in args.executors:
        with tempfile.TemporaryDirectory(prefix="polyuni-bench-") as folder:
            command = [str(polyuni), "--db", f"{folder}/study.duckdb"]
            if args.sweep:
                command += ["sweep", str(args.sweep.resolve())]
            else:
                command += ["study", "--preset", args.preset, "--out", f"{folder}/out"]
            command += ["--executor", executor] + (["--no-mlflow"] if args.no_mlflow else [])
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            seconds[executor] = time.perf_counter() - started
            print(json.dumps({"timed": str(args.sweep or args.preset), "executor": executor, "seconds": round(seconds[executor], 1),
                              "load_before": load_before, "load_after": os.getloadavg()[0],
                              "cores": len(os.sched_getaffinity(0))}), flush=True)
    first, last = args.executors[0], args.executors[-1]
    print(json.dumps({"speedup": round(seconds[first] / seconds[last], 2), "of": last, "over": first}))


if __name__ == "__main__":
    main()
