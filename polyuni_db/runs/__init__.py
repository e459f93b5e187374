"""Runs: computing a run's rows (``pipeline``, ``findings``), bundling them (``bundle``), executing
many on Dask (``executor``, ``sweep``) and logging them to MLflow (``tracking``)."""
