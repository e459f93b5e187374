-- How stable are a run's features across dictionary seeds? Two feature sets of the same run and
-- settings from different seeds (independent initialisations), each side's reproducible atoms matched
-- one to one with every atom of the other by activation correlation over the run's most frequent
-- words (both ways, the two sides' means averaged): the mean matched |r|, the mean Jaccard index of matched atoms' top-20 words, and (same basis) the decoder cosines. This is
-- the ceiling for any match across runs. mean_matched_correlation_all_atoms: every atom, reproducible
-- or not.
CREATE OR REPLACE VIEW feature_stability AS
SELECT a.label, a.method, a.atoms, a.nonzero, a.words, a.seed AS seed_a, b.seed AS seed_b,
       m.n_atoms_a, m.n_atoms_b, m.mean_matched_correlation, m.top_word_jaccard,
       m.mean_matched_correlation_all_atoms, m.mean_matched_cosine, m.share_cosine_above_0_9,
       m.n_matched_above_threshold, m.threshold, m.n_words, m.shared_initialization
FROM feature_match_scores AS m
JOIN feature_set_summary AS a ON a.feature_set_id = m.feature_set_a
JOIN feature_set_summary AS b ON b.feature_set_id = m.feature_set_b
JOIN feature_sets AS fa ON fa.feature_set_id = m.feature_set_a
JOIN feature_sets AS fb ON fb.feature_set_id = m.feature_set_b
WHERE fa.run_id = fb.run_id
