-- Which features do two feature sets share? Every reproducible atom of a with its one-to-one match among b's atoms, with
-- its activation correlation, the top-20 words of both atoms side by side and how many they have in
-- common; shared_initialization flags pairs of sets fitted from the same start (never evidence).
CREATE OR REPLACE VIEW matched_features AS
SELECT a.label AS label_a, a.seed AS seed_a, b.label AS label_b, b.seed AS seed_b, s.shared_initialization,
       m.atom_a, m.atom_b, m.correlation, m.decoder_cosine, m.shared_top_words,
       (SELECT list(f.word ORDER BY f.rank) FROM features AS f
        WHERE f.feature_set_id = m.feature_set_a AND f.atom = m.atom_a) AS top_words_a,
       (SELECT list(f.word ORDER BY f.rank) FROM features AS f
        WHERE f.feature_set_id = m.feature_set_b AND f.atom = m.atom_b) AS top_words_b
FROM feature_matches AS m
JOIN feature_match_scores AS s USING (feature_set_a, feature_set_b)
JOIN feature_set_summary AS a ON a.feature_set_id = m.feature_set_a
JOIN feature_set_summary AS b ON b.feature_set_id = m.feature_set_b
