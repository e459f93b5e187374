-- How stable are a run's features across dictionary seeds? Two feature sets of the same run and
-- settings, atoms matched one to one by decoder cosine (mean matched |cosine|, share above 0.9) and
-- by activation correlation over all the run's words: the ceiling for any match across runs.
CREATE OR REPLACE VIEW feature_stability AS
SELECT a.label, a.atoms, a.nonzero, a.words, a.seed AS seed_a, b.seed AS seed_b,
       m.mean_matched_cosine, m.share_cosine_above_0_9,
       m.mean_matched_correlation, m.n_matched_above_threshold, m.threshold, m.n_words
FROM feature_match_scores AS m
JOIN feature_set_summary AS a ON a.feature_set_id = m.feature_set_a
JOIN feature_set_summary AS b ON b.feature_set_id = m.feature_set_b
JOIN feature_sets AS fa ON fa.feature_set_id = m.feature_set_a
JOIN feature_sets AS fb ON fb.feature_set_id = m.feature_set_b
WHERE fa.run_id = fb.run_id
