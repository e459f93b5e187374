-- Is a pair of words' superposition universal across seeds? For every configuration of a small
-- trained model (run_configuration: all settings but the seed) and every pair of its words: in how
-- many seeds the two vectors interfere (|cosine| > 0.5) and their mean |cosine|, beside the same
-- for the random initial vectors the seeds started from (pair_geometry.initial_cosine), pooled over
-- every pair and seed of the configuration (random_share), and for this pair over the same seeds
-- (initial_share_interfering: the same statistic with the same n, for a like-for-like count of
-- pairs that random vectors make look universal). A pair interfering in nearly every seed, where
-- random vectors interfere at random_share, is a shared (universal) polysemantic relationship.
CREATE OR REPLACE VIEW pair_interference AS
WITH seeds AS (  -- one run per configuration and seed: runs that differ only in what is analysed share vectors
    SELECT * FROM run_configuration
    QUALIFY row_number() OVER (PARTITION BY configuration, seed ORDER BY run_id) = 1
), pairs AS (
    SELECT c.corpus, c.dim, c.configuration, c.sample, c.epochs,
           least(g.word_a, g.word_b) AS word_a, greatest(g.word_a, g.word_b) AS word_b,
           abs(g.cosine) AS abs_cosine, abs(g.initial_cosine) AS initial_abs_cosine
    FROM pair_geometry AS g
    JOIN seeds AS c USING (run_id)
    WHERE g.cosine IS NOT NULL AND g.initial_cosine IS NOT NULL
), per_pair AS (
    SELECT corpus, dim, configuration, sample, epochs, word_a, word_b,
           count(*) AS n_seeds,
           avg(CASE WHEN abs_cosine > 0.5 THEN 1.0 ELSE 0.0 END) AS share_interfering,
           avg(abs_cosine) AS mean_abs_cosine,
           avg(CASE WHEN initial_abs_cosine > 0.5 THEN 1.0 ELSE 0.0 END) AS initial_share_interfering,
           count(*) FILTER (WHERE initial_abs_cosine > 0.5) AS initial_interfering,
           sum(initial_abs_cosine) AS initial_abs_cosine_sum
    FROM pairs
    GROUP BY ALL
)
SELECT corpus, dim, configuration, sample, epochs, word_a, word_b, n_seeds, share_interfering, mean_abs_cosine,
       initial_share_interfering,
       sum(initial_interfering) OVER configuration / sum(n_seeds) OVER configuration AS random_share,
       sum(initial_abs_cosine_sum) OVER configuration / sum(n_seeds) OVER configuration AS random_mean_abs_cosine
FROM per_pair
WINDOW configuration AS (PARTITION BY configuration)
