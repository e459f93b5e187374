-- Does the study's own measure tell data from algorithm? Per contrast (see pair_factors): the
-- axis-aligned top-5 dimension words two runs have in common against what random rotations of one of
-- them give (an arbitrary basis): pairs, mean words in common, mean rotation-null mean, the mean
-- excess over it, mean calibrated z (over finite z), how many pairs beat the rotations (p < 0.05),
-- and the mean effect size against the seed pairs' overlap.
CREATE OR REPLACE VIEW axis_overlap_by_factor AS
SELECT f.contrast, count(*) AS n_pairs,
       avg(e.value) AS mean_common, avg(e.null_mean) AS mean_rotation_null,
       avg(e.value - e.null_mean) AS mean_excess, avg(e.calibrated) FILTER (WHERE NOT isnan(e.calibrated)) AS mean_calibrated,
       count(*) FILTER (WHERE e.p_value < 0.05) AS n_beat_rotation,
       avg(e.effect_size) AS mean_effect_size
FROM pair_factors AS f
JOIN similarity_effect_sizes AS e ON e.label_a = f.label_a AND e.label_b = f.label_b
WHERE e.metric = 'axis_overlap_rotation_null'
GROUP BY f.contrast
