-- Do two models learn the same features? The basis-free counterpart of model_overlap: atoms of
-- two runs matched one to one by the correlation of their activations over the words both share,
-- the mean matched |correlation| and the atoms matched above the threshold, against shuffled word
-- correspondences (null mean and sd, z, p), beside the seed ceiling: the same score between two
-- dictionary seeds of the same runs (averaged over the seed pairs of run a and run b).
CREATE OR REPLACE VIEW feature_universality AS
SELECT a.label AS label_a, b.label AS label_b, a.atoms, a.nonzero, a.seed AS seed_a, b.seed AS seed_b,
       m.n_words, m.mean_matched_correlation, m.n_matched_above_threshold, m.threshold,
       m.null_mean, m.null_sd, m.z, m.p_value, m.null_above_threshold,
       (SELECT avg(st.mean_matched_correlation) FROM feature_stability AS st
        WHERE st.label IN (a.label, b.label) AND st.atoms = a.atoms AND st.nonzero = a.nonzero
          AND st.words = a.words) AS seed_ceiling
FROM feature_match_scores AS m
JOIN feature_set_summary AS a ON a.feature_set_id = m.feature_set_a
JOIN feature_set_summary AS b ON b.feature_set_id = m.feature_set_b
JOIN feature_sets AS fa ON fa.feature_set_id = m.feature_set_a
JOIN feature_sets AS fb ON fb.feature_set_id = m.feature_set_b
WHERE fa.run_id <> fb.run_id
