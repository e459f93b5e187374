-- What separates two compared trained runs? Every pair of trained runs with a stored comparison:
-- whether their corpus, algorithm, dimension and seed differ, and the contrast that names it:
-- 'other seed' (one configuration, two seeds), 'other settings' (same corpus, algorithm and
-- dimension, other parameters), else e.g. 'other algorithm, same corpus', 'same algorithm, other
-- corpus', with ', other dimension' where the dimensions differ. Between algorithms a seed shares
-- nothing, so the seed names a contrast only within one configuration.
CREATE OR REPLACE VIEW pair_factors AS
WITH compared AS (SELECT DISTINCT run_a, run_b FROM similarity),
trained AS (  -- run_configuration holds complete trained runs only
    SELECT c.run_id, c.label, c.corpus, r.model_name AS algorithm, c.dim, c.seed, c.configuration
    FROM run_configuration AS c JOIN runs AS r USING (run_id)
)
SELECT a.label AS label_a, b.label AS label_b,
       a.corpus AS corpus_a, b.corpus AS corpus_b, a.algorithm AS algorithm_a, b.algorithm AS algorithm_b,
       a.dim AS dim_a, b.dim AS dim_b, a.seed AS seed_a, b.seed AS seed_b,
       a.corpus <> b.corpus AS corpus_differs,
       a.algorithm <> b.algorithm AS algorithm_differs,
       a.dim <> b.dim AS dim_differs,
       a.seed IS DISTINCT FROM b.seed AS seed_differs,
       CASE WHEN a.configuration = b.configuration AND a.seed IS DISTINCT FROM b.seed THEN 'other seed'
            WHEN a.corpus = b.corpus AND a.algorithm = b.algorithm AND a.dim = b.dim THEN 'other settings'
            ELSE concat_ws(', ',
                CASE WHEN a.algorithm <> b.algorithm THEN 'other algorithm' ELSE 'same algorithm' END,
                CASE WHEN a.corpus <> b.corpus THEN 'other corpus' ELSE 'same corpus' END,
                CASE WHEN a.dim <> b.dim THEN 'other dimension' END)
       END AS contrast
FROM compared AS c
JOIN trained AS a ON a.run_id = c.run_a
JOIN trained AS b ON b.run_id = c.run_b
