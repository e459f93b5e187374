-- What the verdict summarises: one row per item (a pair of runs, a pair of words, a pseudoword) of
-- each question, with its measured value, its null and the ceiling it is read against. The verdict's
-- effect size is (mean value - mean null) / (mean ceiling - mean null): 0 at chance, 1 at the
-- ceiling; polyuni_db/analysis/verdict.py bootstraps it over these rows (verdict_intervals).
-- item_group is 'main' except for 'data vs algorithm vs seed', whose items are the pairs that change
-- only the algorithm ('algorithm') and only the corpus ('corpus'). Left out everywhere: pairs of two
-- seeds of one configuration (they set the ceilings) and a run against its own rotated copy (the
-- rotation control: same cosines by construction).
CREATE OR REPLACE VIEW verdict_items AS
WITH rotated AS (  -- (run, the run it rotates)
    SELECT label, parameters->>'of_label' AS of_label FROM runs WHERE source = 'rotation'
), controls AS (  -- pairs of runs that are a run and its rotation
    SELECT label, of_label FROM rotated UNION ALL SELECT of_label, label FROM rotated
), effects AS (  -- scores with nulls, the seed pairs and rotation controls left out
    SELECT e.*, f.contrast, d_a.dim AS dim_a, d_b.dim AS dim_b
    FROM similarity_effect_sizes AS e
    JOIN runs AS d_a ON d_a.label = e.label_a
    JOIN runs AS d_b ON d_b.label = e.label_b
    LEFT JOIN pair_factors AS f ON f.label_a = e.label_a AND f.label_b = e.label_b
    WHERE NOT EXISTS (SELECT 1 FROM controls AS c WHERE c.label = e.label_a AND c.of_label = e.label_b)
), axis_share AS (  -- dimension words in common per slot of the smaller model (5 words a dimension)
    SELECT *, value / (5 * least(dim_a, dim_b)) AS share, null_mean / (5 * least(dim_a, dim_b)) AS null_share
    FROM effects WHERE metric = 'axis_overlap_rotation_null'
), differences AS (
    SELECT * FROM difference_agreement WHERE NOT rotation AND null_agreement IS NOT NULL
)
SELECT 'dimension words' AS question, 'main' AS item_group, label_a || ' × ' || label_b AS item,
       share AS value, null_share AS null_value,
       (SELECT avg(share) FROM axis_share WHERE contrast = 'other seed') AS ceiling
FROM axis_share WHERE contrast IS DISTINCT FROM 'other seed'
UNION ALL
SELECT 'difference vectors', 'main', label_a || ' × ' || label_b || ': ' || word_a || ' − ' || word_b,
       agreement, null_agreement,
       (SELECT avg(agreement) FROM differences WHERE contrast = 'other seed')
FROM differences WHERE contrast IS DISTINCT FROM 'other seed'
UNION ALL
-- seeds agreeing on whether two words interfere: |2 share - 1| is 1 when every seed agrees, against
-- the same for the random initial vectors of the same seeds; every seed agreeing is the ceiling
SELECT 'toy superposition', 'main', corpus || ' ' || dim || 'd: ' || word_a || ' · ' || word_b,
       abs(2 * share_interfering - 1), abs(2 * initial_share_interfering - 1), 1.0
FROM pair_interference WHERE n_seeds >= 2
UNION ALL
SELECT 'representational similarity', 'main', label_a || ' × ' || label_b, value, null_mean, ceiling
FROM effects WHERE metric = 'mutual_knn_10' AND contrast IS DISTINCT FROM 'other seed'
UNION ALL
-- matched features against shuffled word correspondences; the ceiling is the two runs' seed ceiling
-- (feature sets of each from independent seeds) where it exists, else the score's maximum, 1. Feature
-- sets fitted from the same start (shared_initialization) are never evidence: left out
SELECT 'features', 'main', label_a || ' × ' || label_b, mean_matched_correlation, null_mean, coalesce(seed_ceiling, 1.0)
FROM feature_universality
WHERE NOT coalesce(shared_initialization, false)
  AND NOT EXISTS (SELECT 1 FROM controls AS c WHERE c.label = label_a AND c.of_label = label_b)
UNION ALL
-- planted pseudowords: how close v_ab lies to the span of v_a and v_b, against two random words not
-- merged; 1 (in the span) is the ceiling
SELECT 'planted polysemy', 'main', label || ': ' || token, span_cosine, null_span_cosine, 1.0
FROM pseudoword_recovery
UNION ALL
SELECT 'data vs algorithm vs seed', CASE contrast WHEN 'other algorithm, same corpus' THEN 'algorithm' ELSE 'corpus' END,
       label_a || ' × ' || label_b, value, null_mean, ceiling
FROM effects
WHERE metric = 'mutual_knn_10' AND contrast IN ('other algorithm, same corpus', 'same algorithm, other corpus')
