-- How much do a model's words share its dimensions? Per run with word_superposition rows: Elhage et
-- al.'s dimensions per feature D* = dim / sum |W_i|^2 (and on unit vectors, dim / words), the mean
-- feature dimensionality of its words (raw and unit; each at most 1, their sum at most dim), and
-- the mean of each word's largest |cosine| to another word. Trained runs carry their configuration.
CREATE OR REPLACE VIEW run_superposition AS
SELECT r.run_id, r.label, r.source, r.corpus, r.dim, r.seed, c.configuration, c.sample, c.epochs,
       count(*) AS n_words,
       r.dim / sum(w.norm * w.norm) AS dimensions_per_feature,
       r.dim / count(*) AS dimensions_per_feature_unit,
       avg(s.dimensionality) AS mean_dimensionality,
       avg(s.dimensionality_unit) AS mean_dimensionality_unit,
       sum(s.dimensionality_unit) AS total_dimensionality_unit,
       avg(s.max_interference) AS mean_max_interference
FROM word_superposition AS s
JOIN runs AS r USING (run_id)
JOIN word_stats AS w ON w.run_id = s.run_id AND w.word = s.word
LEFT JOIN run_configuration AS c ON c.run_id = s.run_id
WHERE r.status = 'complete'
GROUP BY r.run_id, r.label, r.source, r.corpus, r.dim, r.seed, c.configuration, c.sample, c.epochs
