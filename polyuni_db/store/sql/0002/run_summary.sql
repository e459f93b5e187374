-- What runs are stored? One row per run: where its vectors came from, its size, how many of its
-- words were never trained, and its MLflow run.
CREATE OR REPLACE VIEW run_summary AS
SELECT
    run_id, label, source, model_name, corpus, dim, seed, vocab_size, n_untrained, n_unrankable,
    top_k, mlflow_run_id, mlflow_status, status, created_at
FROM runs
WHERE status = 'complete'
