-- Is it the data or the algorithm? Per contrast between compared trained runs (which of corpus,
-- algorithm, dimension and seed differ; see pair_factors) and per basis-invariant score (linear
-- CKA, mutual k-NN, Procrustes-aligned dimension-word overlap): the number of pairs; the mean, sd,
-- min and max of the score; its mean calibrated z (over finite z: a null without spread gives none)
-- and the share of pairs beyond the null (p < 0.05); the mean, median and sd of the effect size
-- (0 = the null mean, 1 = the agreement of two seeds; see similarity_effect_sizes; the median
-- resists pairs whose seed ceiling barely clears the null) and how many pairs had no seed pair to
-- set their ceiling.
CREATE OR REPLACE VIEW universality_by_factor AS
SELECT f.contrast, f.corpus_differs, f.algorithm_differs, f.dim_differs, e.metric,
       count(*) AS n_pairs,
       avg(e.value) AS mean_value, stddev_samp(e.value) AS sd_value,
       min(e.value) AS min_value, max(e.value) AS max_value,
       avg(e.calibrated) FILTER (WHERE NOT isnan(e.calibrated)) AS mean_calibrated,
       avg(CASE WHEN e.p_value < 0.05 THEN 1.0 ELSE 0.0 END) AS share_significant,
       avg(e.effect_size) AS mean_effect_size, median(e.effect_size) AS median_effect_size,
       stddev_samp(e.effect_size) AS sd_effect_size,
       count(*) FILTER (WHERE e.ceiling_source <> 'seeds') AS n_without_seed_ceiling
FROM pair_factors AS f
JOIN similarity_effect_sizes AS e ON e.label_a = f.label_a AND e.label_b = f.label_b
WHERE e.metric <> 'axis_overlap_rotation_null'
GROUP BY f.contrast, f.corpus_differs, f.algorithm_differs, f.dim_differs, e.metric
