"""How many epochs do the study's co-occurrence toy corpora need with sample=0? Trains each corpus at
2, 3 and 4 dimensions over a few seeds for a range of epoch counts and prints gensim's training loss
(compute_loss) averaged over the last tenth of the epochs, as a share of the loss of the longest
training, and the seconds per run. The README gives the figures behind the blog preset's epochs (polyuni_db/presets/blog.toml).

    python scripts/toy_convergence.py [--seeds 5] [--epochs 50 100 200 500 1000 2000]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from polyuni_db.runs.sweep import read_sweep_file
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainParams, train_word2vec
from polyuni_db.study import preset_path

# the blog preset's trained variants of the toy corpora
TOY = next(group for group in read_sweep_file(preset_path("blog")).train if group.suffix == "trained")


def late_loss(corpus, dim: int, seed: int, epochs: int) -> tuple[float, float]:
    """Mean loss per epoch over the last tenth of training, and the seconds it took."""
    started = time.perf_counter()
    losses = train_word2vec(corpus, dim, seed, TrainParams(sample=0, epochs=epochs)).losses
    seconds = time.perf_counter() - started
    return float(np.mean(losses[-max(1, epochs // 10):])), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, nargs="+", default=[50, 100, 200, 500, 1000, 2000])
    args = parser.parse_args()
    results = {}
    for name in TOY.corpora:
        corpus = load_corpus(name)
        losses = {epochs: [] for epochs in args.epochs}
        seconds = {epochs: 0.0 for epochs in args.epochs}
        for dim in TOY.dims:
            for seed in range(1, args.seeds + 1):
                for epochs in args.epochs:
                    loss, took = late_loss(corpus, dim, seed, epochs)
                    losses[epochs].append(loss)
                    seconds[epochs] += took
        reference = np.mean(losses[max(args.epochs)])
        results[name] = {epochs: {"late_loss": float(np.mean(values)), "share_of_longest": float(np.mean(values) / reference),
                                  "seconds_per_run": seconds[epochs] / len(values)} for epochs, values in losses.items()}
        print(name, "  ".join(f"{e}: {r['share_of_longest']:.3f} ({r['seconds_per_run']:.2f} s)"
                              for e, r in results[name].items()), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
