-- Which words are a run's dimension words? For any top-k and pole ('max' or 'min'): one row per
-- run and distinct word that stands in the top k of at least one dimension.
CREATE OR REPLACE MACRO dimension_word_set_at(k, pole) AS TABLE
SELECT DISTINCT r.run_id, r.label, dw.word
FROM dimension_words AS dw
JOIN runs AS r USING (run_id)
WHERE r.status = 'complete' AND dw.pole = pole AND dw.rank <= k
