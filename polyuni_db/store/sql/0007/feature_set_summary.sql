-- Which sparse dictionaries (feature sets) are stored, for which run, and how well do they fit?
-- One row per complete feature set, with its run's label.
CREATE OR REPLACE VIEW feature_set_summary AS
SELECT f.feature_set_id, r.label, r.dim, f.atoms, f.nonzero, f.words, f.seed, f.n_fit, f.n_encoded,
       f.explained_variance, f.dead_atoms, f.seconds, f.fingerprint, f.created_at
FROM feature_sets AS f
JOIN runs AS r USING (run_id)
WHERE f.status = 'complete' AND r.status = 'complete'
