-- Which instruments find both senses of a planted pseudoword? One row per run and instrument: the
-- share of pseudowords for which the instrument brings back at least one of the 10 reference
-- neighbours of each replaced word (both senses), of one sense at least, and the mean hits per
-- sense; each beside the same for random word pairs that were not merged (the null).
-- difference_neighbours: the nearest words to v_ab - v_b (sense a) and v_ab - v_a (sense b), in the
-- reference after alignment; dimension_words: the top words of the pseudoword's 3 most aligned axes
-- in its own run. Both among words counted 5+ times. feature_atoms (once the run and its reference
-- have feature sets): hits are the pseudoword's atoms matching one of a's (b's) reference atoms.
CREATE OR REPLACE VIEW pseudoword_instrument_recovery AS
SELECT i.run_id, r.label, r.corpus, r.dim, r.seed, i.instrument,
       count(*) AS n_pseudowords,
       avg(i.recovered::INTEGER) AS share_both_senses,
       avg(i.null_recovered::INTEGER) AS null_share_both_senses,
       avg((i.hits_a > 0 OR i.hits_b > 0)::INTEGER) AS share_one_sense,
       avg((i.null_hits_a > 0 OR i.null_hits_b > 0)::INTEGER) AS null_share_one_sense,
       avg(i.hits_a + i.hits_b) / 2 AS mean_hits_per_sense,
       avg(i.null_hits_a + i.null_hits_b) / 2 AS null_mean_hits_per_sense
FROM pseudoword_instruments AS i
JOIN runs AS r USING (run_id)
WHERE r.status = 'complete'
GROUP BY i.run_id, r.label, r.corpus, r.dim, r.seed, i.instrument
