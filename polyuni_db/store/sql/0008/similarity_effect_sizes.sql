-- How far from chance toward the agreement of two seeds is each comparison? Every stored score that
-- has a null, with its ceiling and effect_size = (value - null_mean) / (ceiling - null_mean): 0 at the
-- null mean, 1 at the ceiling, on one scale where calibrated z saturates. The ceiling is the mean
-- score of seed pairs of the two runs' configurations (the mean of both when both have seed pairs;
-- ceiling_source 'seeds'); where neither has any (pretrained runs have none) it is the metric's
-- maximum, 1, for linear CKA and mutual k-NN ('maximum'), and absent for dimension-word counts
-- ('none'). A ceiling that is not above the null mean gives no effect size.
CREATE OR REPLACE VIEW similarity_effect_sizes AS
WITH scored AS (
    SELECT a.label AS label_a, b.label AS label_b, s.metric, s.value, s.null_mean, s.null_sd, s.calibrated,
           s.p_value, s.n_words, ca.ceiling AS ceiling_a, cb.ceiling AS ceiling_b,
           s.metric = 'linear_cka' OR s.metric LIKE 'mutual_knn%' AS bounded_by_one
    FROM similarity AS s
    JOIN runs AS a ON a.run_id = s.run_a
    JOIN runs AS b ON b.run_id = s.run_b
    LEFT JOIN run_configuration AS fa ON fa.run_id = s.run_a
    LEFT JOIN run_configuration AS fb ON fb.run_id = s.run_b
    LEFT JOIN seed_ceilings AS ca ON ca.configuration = fa.configuration AND ca.metric = s.metric
    LEFT JOIN seed_ceilings AS cb ON cb.configuration = fb.configuration AND cb.metric = s.metric
    WHERE s.null_mean IS NOT NULL AND a.status = 'complete' AND b.status = 'complete'
),
ceilings AS (
    SELECT *,
           CASE WHEN ceiling_a IS NOT NULL OR ceiling_b IS NOT NULL THEN 'seeds'
                WHEN bounded_by_one THEN 'maximum'
                ELSE 'none' END AS ceiling_source,
           CASE WHEN ceiling_a IS NOT NULL OR ceiling_b IS NOT NULL
                    THEN (coalesce(ceiling_a, ceiling_b) + coalesce(ceiling_b, ceiling_a)) / 2
                WHEN bounded_by_one THEN 1.0 END AS ceiling
    FROM scored
)
SELECT label_a, label_b, metric, value, null_mean, null_sd, calibrated, p_value, n_words,
       ceiling, ceiling_source,
       CASE WHEN ceiling > null_mean THEN (value - null_mean) / (ceiling - null_mean) END AS effect_size
FROM ceilings
