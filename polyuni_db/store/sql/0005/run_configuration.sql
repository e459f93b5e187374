-- Which trained runs differ only by their seed? Every run trained here, with a key for its
-- configuration: a hash of everything that decides its vectors (corpus, dimension, every training
-- setting, gensim's version) except the seed; and the two settings that decide whether a tiny corpus
-- trains at all, down-sampling and epochs.
CREATE OR REPLACE VIEW run_configuration AS
SELECT run_id, label, corpus, dim, seed,
       md5(CAST(json_merge_patch(parameters->'vectors', '{"seed": null}') AS VARCHAR)) AS configuration,
       CAST(parameters->'vectors'->>'sample' AS DOUBLE) AS sample,
       CAST(parameters->'vectors'->>'epochs' AS INTEGER) AS epochs
FROM runs
WHERE status = 'complete' AND source = 'train'
