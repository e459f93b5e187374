-- Where does the overlap come from? For every pair of runs that share dimension words (top 5, 'max'
-- pole): how many of the common words are untrained vectors (untrained in either run), how many
-- are among the 100 most frequent words of either run, and how many are neither.
CREATE OR REPLACE VIEW overlap_attribution AS
WITH common AS (
    SELECT a.run_id AS run_a, a.label AS label_a, b.run_id AS run_b, b.label AS label_b, a.word
    FROM dimension_word_sets AS a
    JOIN dimension_word_sets AS b ON a.word = b.word AND a.label < b.label
),
classified AS (
    SELECT c.label_a, c.label_b, c.word,
           coalesce(NOT wa.trained, false) OR coalesce(NOT wb.trained, false) AS untrained,
           wa.rank <= 100 OR wb.rank <= 100 AS frequent
    FROM common AS c
    JOIN word_stats AS wa ON wa.run_id = c.run_a AND wa.word = c.word
    JOIN word_stats AS wb ON wb.run_id = c.run_b AND wb.word = c.word
)
SELECT label_a, label_b,
       count(*) AS n_common,
       count(*) FILTER (WHERE untrained) AS n_untrained,
       count(*) FILTER (WHERE NOT untrained AND frequent) AS n_frequent,
       count(*) FILTER (WHERE NOT untrained AND NOT frequent) AS n_rest
FROM classified
GROUP BY label_a, label_b
ORDER BY label_a, label_b
