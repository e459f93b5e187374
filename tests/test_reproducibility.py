"""A run's vectors do not depend on the hash seed of the process that trains them, and the record says
which process had which: the driver (the command that commits) and the worker (the Dask task that trained)."""
from __future__ import annotations

import numpy as np

from polyuni_db.store.read import read_only_query
from tests.test_cli import polyuni


def test_training_gives_the_same_bits_whatever_the_workers_hash_seed(tmp_path):
    vectors, records = {}, {}
    for executor in ("inline", "local:1"):  # Dask's nanny gives its workers PYTHONHASHSEED=6640 when ours is 0
        db = tmp_path / f"{executor.replace(':', '')}.duckdb"
        result = polyuni("--db", str(db), "ingest", "train", "--corpus", "corpus_bark", "--dims", "3", "--seeds", "1", "2",
                         "--sample", "0", "--epochs", "50", "--executor", executor, env={"PYTHONHASHSEED": "0"})
        assert result.returncode == 0, result.stderr
        _, rows = read_only_query(db, "SELECT label, vectors_path, mlflow_run_id FROM runs ORDER BY label")
        vectors[executor] = {label: np.load(db.parent / path) for label, path, _ in rows}  # paths beside the db
        from mlflow.tracking import MlflowClient

        client = MlflowClient(f"sqlite:///{db.with_name(db.stem + '.mlflow.sqlite')}")
        records[executor] = [(params["driver.python_hash_seed"], params["worker.python_hash_seed"])
                             for params in (client.get_run(run_id).data.params for _, _, run_id in rows)]
    assert records == {"inline": [("0", "0")] * 2, "local:1": [("0", "6640")] * 2}
    assert vectors["inline"].keys() == vectors["local:1"].keys() == {"corpus_bark_3", "corpus_bark_3_s2"}
    for label, here in vectors["inline"].items():
        assert here.tobytes() == vectors["local:1"][label].tobytes(), label
    assert not np.array_equal(vectors["inline"]["corpus_bark_3"], vectors["inline"]["corpus_bark_3_s2"])
