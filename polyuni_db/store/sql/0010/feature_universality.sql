-- Do two models learn the same features? The basis-free counterpart of model_overlap: each run's
-- reproducible atoms matched one to one with every atom of the other by the correlation of their
-- activations over the words both share (both ways, the two sides' means averaged); the mean matched |correlation|, the top-word Jaccard and the atoms matched above the
-- threshold, against shuffled word correspondences (null mean and sd; z NULL where the null does not
-- vary; p_value_text '< 1/(R+1)' where no shuffle reached the score, p_value then being a bound).
-- Beside it each run's seed ceiling (its feature_stability between independent seeds, averaged over
-- seed pairs; NULL for a run with one feature set) and seed_ceiling, the lower of the two.
-- shared_initialization: both sets fitted from the same seed on the same words (a run and its
-- rotation): their agreement is set by the shared start, not learnt, and is never evidence.
CREATE OR REPLACE VIEW feature_universality AS
WITH ceilings AS (
    SELECT label, method, atoms, nonzero, words, avg(mean_matched_correlation) AS ceiling
    FROM feature_stability
    WHERE NOT coalesce(shared_initialization, false)
    GROUP BY label, method, atoms, nonzero, words
)
SELECT a.label AS label_a, b.label AS label_b, a.method, a.atoms, a.nonzero, a.seed AS seed_a, b.seed AS seed_b,
       m.shared_initialization, m.n_words, m.n_atoms_a, m.n_atoms_b,
       m.mean_matched_correlation, m.top_word_jaccard, m.n_matched_above_threshold, m.threshold,
       m.null_mean, m.null_sd, m.z, m.p_value, m.p_value_is_bound,
       CASE WHEN m.p_value_is_bound THEN '< ' || round(m.p_value, 4) ELSE CAST(round(m.p_value, 4) AS VARCHAR)
       END AS p_value_text,
       m.null_above_threshold, m.mean_matched_correlation_all_atoms,
       ca.ceiling AS seed_ceiling_a, cb.ceiling AS seed_ceiling_b, least(ca.ceiling, cb.ceiling) AS seed_ceiling
FROM feature_match_scores AS m
JOIN feature_set_summary AS a ON a.feature_set_id = m.feature_set_a
JOIN feature_set_summary AS b ON b.feature_set_id = m.feature_set_b
JOIN feature_sets AS fa ON fa.feature_set_id = m.feature_set_a
JOIN feature_sets AS fb ON fb.feature_set_id = m.feature_set_b
LEFT JOIN ceilings AS ca ON ca.label = a.label AND ca.method = a.method AND ca.atoms = a.atoms
    AND ca.nonzero = a.nonzero AND ca.words = a.words
LEFT JOIN ceilings AS cb ON cb.label = b.label AND cb.method = b.method AND cb.atoms = b.atoms
    AND cb.nonzero = b.nonzero AND cb.words = b.words
WHERE fa.run_id <> fb.run_id
