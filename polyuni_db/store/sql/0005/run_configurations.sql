-- Which runs differ only in their seed? Every complete run with the factors a comparison can vary:
-- corpus, algorithm (runs.model_name), dimension and seed, and its configuration: the parameters
-- that determine its vectors with the seed left out, so that runs sharing one are seeds of one model.
CREATE OR REPLACE VIEW run_configurations AS
SELECT run_id, label, source, model_name AS algorithm, corpus, dim, seed,
       CAST(json_merge_patch(parameters->'vectors', '{"seed": null}') AS VARCHAR) AS configuration
FROM runs
WHERE status = 'complete'
