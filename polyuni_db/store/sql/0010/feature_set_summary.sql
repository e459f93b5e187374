-- Which dictionaries (feature sets) are stored, for which run, how well do they fit, and how many of
-- their atoms are reproducible? One row per complete feature set, with its run's label. method
-- 'ica': independent components fitted `fits` times from independent starts, an atom reproducible
-- when it reappears in more than half of them; 'omp': an overcomplete dictionary fitted once (its
-- atoms are not scored: n_reproducible counts them all).
CREATE OR REPLACE VIEW feature_set_summary AS
SELECT f.feature_set_id, r.label, r.dim, f.method, f.atoms, f.nonzero, f.words, f.seed, f.fits, f.n_fit,
       f.n_encoded,
       (SELECT count(*) FROM atom_scores AS a
        WHERE a.feature_set_id = f.feature_set_id AND coalesce(a.reproducibility > 0.5, true)) AS n_reproducible,
       f.explained_variance, f.dead_atoms, f.seconds, f.fingerprint, f.created_at
FROM feature_sets AS f
JOIN runs AS r USING (run_id)
WHERE f.status = 'complete' AND r.status = 'complete'
