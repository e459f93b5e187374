-- How alike are two seeds of the same model? Per configuration of trained runs (run_configuration:
-- everything that decides the vectors but the seed) and metric: the mean score of the compared pairs
-- of its runs that differ only in their seed, the ceiling other pairs are read against.
CREATE OR REPLACE VIEW seed_ceilings AS
SELECT a.configuration, s.metric, avg(s.value) AS ceiling, count(*) AS n_seed_pairs
FROM similarity AS s
JOIN run_configuration AS a ON a.run_id = s.run_a
JOIN run_configuration AS b ON b.run_id = s.run_b
WHERE a.configuration = b.configuration AND a.seed <> b.seed
GROUP BY a.configuration, s.metric
