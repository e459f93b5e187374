-- How do the words of a small model sit against each other? Per small run, the cosine and angle
-- (degrees) of every pair of words, and the run's average angle.
CREATE OR REPLACE VIEW pair_geometry_summary AS
SELECT r.run_id, r.label, r.corpus, r.dim, g.word_a, g.word_b, g.cosine, g.angle_degrees,
       avg(g.angle_degrees) OVER (PARTITION BY g.run_id) AS average_angle
FROM pair_geometry AS g
JOIN runs AS r USING (run_id)
WHERE r.status = 'complete'
