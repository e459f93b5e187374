-- Do two models agree on the nearest words to v_a - v_b (Approach 2)? For every two complete runs
-- over 1,000 words that both computed a word pair: the share of their top-10 neighbours that the two
-- lists have in common (agreement; out of the shorter list), with the pair's own two words left out,
-- since every model finds them. Beside it the null: the same share between this pair's list in one
-- run and another pair's list in the other (a shuffled correspondence of pairs: what two unrelated
-- lists of these runs share), averaged over both directions and every other pair. contrast is the
-- two runs' pair_factors contrast where they were compared ('other seed' pairs set the ceiling);
-- rotation is true when one run is a rotated copy of the other (same cosines: agreement 1, a
-- control, not evidence).
CREATE OR REPLACE VIEW difference_agreement AS
WITH large AS (
    SELECT run_id, label, parameters->>'of_label' AS rotation_of
    FROM runs WHERE status = 'complete' AND vocab_size > 1000
), neighbours AS (
    SELECT n.run_id, n.word_a, n.word_b, n.word
    FROM difference_neighbours AS n JOIN large USING (run_id)
    WHERE n.rank <= 10 AND lower(n.word) NOT IN (lower(n.word_a), lower(n.word_b))
), lists AS (
    SELECT run_id, word_a, word_b, count(*) AS n_words FROM neighbours GROUP BY ALL
), common AS (  -- words two lists share, for every two lists of two runs
    SELECT u.run_id AS run_a, v.run_id AS run_b, u.word_a, u.word_b, v.word_a AS other_a, v.word_b AS other_b,
           count(*) AS n_common
    FROM neighbours AS u JOIN neighbours AS v ON u.word = v.word AND u.run_id < v.run_id
    GROUP BY ALL
), crossed AS (
    SELECT x.run_id AS run_a, y.run_id AS run_b, x.word_a, x.word_b, y.word_a AS other_a, y.word_b AS other_b,
           coalesce(c.n_common, 0) / least(x.n_words, y.n_words) AS share
    FROM lists AS x
    JOIN lists AS y ON x.run_id < y.run_id
    LEFT JOIN common AS c ON c.run_a = x.run_id AND c.run_b = y.run_id AND c.word_a = x.word_a
        AND c.word_b = x.word_b AND c.other_a = y.word_a AND c.other_b = y.word_b
), same_pair AS (
    SELECT run_a, run_b, word_a, word_b, share AS agreement FROM crossed
    WHERE word_a = other_a AND word_b = other_b
), shuffled AS (  -- this pair against every other pair, in either run
    SELECT s.run_a, s.run_b, s.word_a, s.word_b, avg(c.share) AS null_agreement, count(*) AS n_null
    FROM same_pair AS s
    JOIN crossed AS c ON c.run_a = s.run_a AND c.run_b = s.run_b
        AND ((c.word_a = s.word_a AND c.word_b = s.word_b) <> (c.other_a = s.word_a AND c.other_b = s.word_b))
    GROUP BY ALL
)
SELECT a.label AS label_a, b.label AS label_b, s.word_a, s.word_b, s.agreement, n.null_agreement, n.n_null,
       f.contrast, coalesce(a.rotation_of = b.label OR b.rotation_of = a.label, false) AS rotation
FROM same_pair AS s
JOIN large AS a ON a.run_id = s.run_a
JOIN large AS b ON b.run_id = s.run_b
LEFT JOIN shuffled AS n USING (run_a, run_b, word_a, word_b)
LEFT JOIN pair_factors AS f
    ON (f.label_a = a.label AND f.label_b = b.label) OR (f.label_a = b.label AND f.label_b = a.label)
