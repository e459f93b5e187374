-- Is each planted sense split found in every run trained on the same transformed corpus? One row per
-- transformed corpus, dimension, pseudoword and instrument: in how many of its runs (seeds, models)
-- the instrument found both senses, and the same for the pseudoword's null pair (the same random
-- words in every run, never merged).
CREATE OR REPLACE VIEW pseudoword_seed_agreement AS
SELECT r.corpus, r.dim, i.token, i.instrument,
       count(*) AS n_runs,
       list(r.label ORDER BY r.seed, r.label) AS labels,
       avg(i.recovered::INTEGER) AS share_of_runs,
       bool_and(i.recovered) AS in_every_run,
       any_value(f.null_word_a) || '+' || any_value(f.null_word_b) AS null_pair,
       avg(i.null_recovered::INTEGER) AS null_share_of_runs,
       bool_and(i.null_recovered) AS null_in_every_run
FROM pseudoword_instruments AS i
JOIN pseudoword_fits AS f USING (run_id, token)
JOIN runs AS r USING (run_id)
WHERE r.status = 'complete'
GROUP BY r.corpus, r.dim, i.token, i.instrument
