-- How alike are two runs once the arbitrary basis is set aside? Every stored comparison by label:
-- linear CKA, mutual k-NN alignment and Procrustes-aligned dimension-word overlap, each against a
-- permutation null (calibrated = (value - null_mean) / null_sd), and the rotation controls.
CREATE OR REPLACE VIEW similarity_scores AS
SELECT a.label AS label_a, b.label AS label_b, s.metric, s.value, s.null_mean, s.null_sd,
       s.calibrated, s.p_value, s.n_words, s.parameters
FROM similarity AS s
JOIN runs AS a ON a.run_id = s.run_a
JOIN runs AS b ON b.run_id = s.run_b
WHERE a.status = 'complete' AND b.status = 'complete'
