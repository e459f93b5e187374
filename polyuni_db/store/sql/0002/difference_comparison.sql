-- What are the nearest words to v_a - v_b in each model? Per word pair, one row per run with its
-- ordered top-10 neighbours and their similarities (empty when the pair was not computed): the
-- original compare() output, side by side.
CREATE OR REPLACE VIEW difference_comparison AS
SELECT p.word_a, p.word_b, r.run_id, r.label, p.status, p.missing_words,
       coalesce(list(n.word ORDER BY n.rank) FILTER (WHERE n.word IS NOT NULL), []) AS neighbours,
       coalesce(list(n.similarity ORDER BY n.rank) FILTER (WHERE n.word IS NOT NULL), []) AS similarities
FROM difference_pairs AS p
JOIN runs AS r USING (run_id)
LEFT JOIN difference_neighbours AS n
    ON n.run_id = p.run_id AND n.word_a = p.word_a AND n.word_b = p.word_b AND n.rank <= 10
WHERE r.status = 'complete'
GROUP BY p.word_a, p.word_b, r.run_id, r.label, p.status, p.missing_words
