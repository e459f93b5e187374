-- Are dimension words obscure? Per run: where its top-5 'max'-pole dimension words stand in its
-- vocabulary by frequency, as percentiles (0 = most frequent, 100 = rarest), and the share of them
-- that are untrained vectors (null for pretrained runs) or among its 100 most frequent words.
CREATE OR REPLACE VIEW dimension_word_frequency AS
SELECT s.run_id, s.label, r.vocab_size, count(*) AS n_words,
       quantile_cont(100.0 * w.rank / r.vocab_size, 0.1) AS p10_percentile,
       quantile_cont(100.0 * w.rank / r.vocab_size, 0.5) AS median_percentile,
       quantile_cont(100.0 * w.rank / r.vocab_size, 0.9) AS p90_percentile,
       avg(CASE WHEN w.trained IS NULL THEN NULL WHEN w.trained THEN 0.0 ELSE 1.0 END) AS share_untrained,
       avg(CASE WHEN w.rank <= 100 THEN 1.0 ELSE 0.0 END) AS share_top100
FROM dimension_word_sets AS s
JOIN run_summary AS r USING (run_id)
JOIN word_stats AS w ON w.run_id = s.run_id AND w.word = s.word
GROUP BY s.run_id, s.label, r.vocab_size
ORDER BY s.label
