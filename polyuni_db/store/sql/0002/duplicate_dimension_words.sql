-- Which words stand in the top 5 ('max' pole) of more than one dimension of the same run, and of
-- which dimensions?
CREATE OR REPLACE VIEW duplicate_dimension_words AS
SELECT r.run_id, r.label, dw.word,
       count(*) AS n_dimensions,
       list(dw.dimension ORDER BY dw.dimension) AS dimensions
FROM dimension_words AS dw
JOIN runs AS r USING (run_id)
WHERE r.status = 'complete' AND dw.pole = 'max' AND dw.rank <= 5
GROUP BY r.run_id, r.label, dw.word
HAVING count(*) > 1
