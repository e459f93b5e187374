-- How many dimension words do two runs share, and how many would chance alone give? For any top-k
-- and pole: one row per unordered pair of runs (label_a < label_b).
--   n_common         |A ∩ B|, A and B the runs' dimension-word sets
--   n_shared_vocab   |S|, the words both runs have
--   expected_common  |A ∩ S| · |B ∩ S| / |S|: the mean of n_common if B's set were drawn uniformly
--   p_value          hypergeometric upper tail P(X >= n_common), X ~ Hypergeom(|S|, |A ∩ S|, |B ∩ S|)
--                    (hypergeom_tail)
-- Runs with the same vocabulary (same corpus and min_count) share one signature, so |S| is
-- computed once per pair of distinct vocabularies, not once per pair of runs.
CREATE OR REPLACE MACRO overlap_at(k, pole) AS TABLE
WITH
word_sets AS (SELECT run_id, label, word FROM dimension_word_set_at(k, pole)),
set_sizes AS (SELECT run_id, count(*) AS n_words FROM word_sets GROUP BY run_id),
complete_runs AS (SELECT run_id, label FROM runs WHERE status = 'complete'),
vocabulary_signatures AS (
    SELECT ws.run_id, count(*) AS n_words, bit_xor(hash(ws.word)) AS xor_hash,
           sum(hash(ws.word)::HUGEINT) AS sum_hash
    FROM word_stats AS ws JOIN complete_runs USING (run_id)
    GROUP BY ws.run_id
),
vocabularies AS (
    SELECT run_id, n_words, dense_rank() OVER (ORDER BY n_words, xor_hash, sum_hash) AS vocabulary_id
    FROM vocabulary_signatures
),
representatives AS (
    SELECT vocabulary_id, min(run_id) AS run_id, any_value(n_words) AS n_words
    FROM vocabularies GROUP BY vocabulary_id
),
shared_vocabulary AS (
    SELECT vocabulary_id AS vocabulary_a, vocabulary_id AS vocabulary_b, n_words AS n_shared
    FROM representatives
    UNION ALL
    SELECT ra.vocabulary_id, rb.vocabulary_id, count(*)
    FROM representatives AS ra
    JOIN representatives AS rb ON ra.vocabulary_id < rb.vocabulary_id
    JOIN word_stats AS wa ON wa.run_id = ra.run_id
    JOIN word_stats AS wb ON wb.run_id = rb.run_id AND wb.word = wa.word
    GROUP BY ra.vocabulary_id, rb.vocabulary_id
),
set_in_vocabulary AS (  -- |A ∩ V| for every run's set A and every distinct vocabulary V
    SELECT s.run_id, r.vocabulary_id, count(*) AS n_in
    FROM word_sets AS s
    JOIN word_stats AS w ON w.word = s.word
    JOIN representatives AS r ON r.run_id = w.run_id
    GROUP BY s.run_id, r.vocabulary_id
),
common AS (
    SELECT a.run_id AS run_a, b.run_id AS run_b, count(*) AS n_common,
           string_agg(a.word, ', ' ORDER BY a.word) AS common_words
    FROM word_sets AS a JOIN word_sets AS b ON a.word = b.word AND a.label < b.label
    GROUP BY a.run_id, b.run_id
),
pairs AS (
    SELECT a.run_id AS run_a, a.label AS label_a, b.run_id AS run_b, b.label AS label_b,
           va.vocabulary_id AS vocabulary_a, vb.vocabulary_id AS vocabulary_b
    FROM complete_runs AS a
    JOIN complete_runs AS b ON a.label < b.label
    JOIN vocabularies AS va ON va.run_id = a.run_id
    JOIN vocabularies AS vb ON vb.run_id = b.run_id
),
counted AS (
    SELECT p.label_a, p.label_b,
           coalesce(c.n_common, 0) AS n_common,
           coalesce(c.common_words, '') AS common_words,
           coalesce(sa.n_words, 0) AS n_a,
           coalesce(sb.n_words, 0) AS n_b,
           coalesce(sv.n_shared, 0) AS n_shared_vocab,
           coalesce(ia.n_in, 0) AS a_in_shared,
           coalesce(ib.n_in, 0) AS b_in_shared
    FROM pairs AS p
    LEFT JOIN common AS c ON c.run_a = p.run_a AND c.run_b = p.run_b
    LEFT JOIN set_sizes AS sa ON sa.run_id = p.run_a
    LEFT JOIN set_sizes AS sb ON sb.run_id = p.run_b
    LEFT JOIN shared_vocabulary AS sv
        ON sv.vocabulary_a = least(p.vocabulary_a, p.vocabulary_b)
       AND sv.vocabulary_b = greatest(p.vocabulary_a, p.vocabulary_b)
    LEFT JOIN set_in_vocabulary AS ia ON ia.run_id = p.run_a AND ia.vocabulary_id = p.vocabulary_b
    LEFT JOIN set_in_vocabulary AS ib ON ib.run_id = p.run_b AND ib.vocabulary_id = p.vocabulary_a
),
with_chance AS (
    SELECT *, a_in_shared * b_in_shared / nullif(n_shared_vocab, 0) AS expected_common FROM counted
)
SELECT
    label_a, label_b, n_common, common_words, n_a, n_b, n_shared_vocab, expected_common,
    n_common / nullif(expected_common, 0) AS ratio,
    hypergeom_tail(n_common, n_shared_vocab, a_in_shared, b_in_shared) AS p_value
FROM with_chance
ORDER BY label_a, label_b
