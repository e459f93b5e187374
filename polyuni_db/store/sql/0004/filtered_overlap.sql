-- Does the overlap survive without untrained and rare words? For every pair of runs with a filtered
-- variant at the same min_count (dimension words among trained words counted at least min_count
-- times): the common words of their top-5 'max'-pole sets, beside the unfiltered count.
CREATE OR REPLACE VIEW filtered_overlap AS
WITH filtered_sets AS (
    SELECT DISTINCT f.run_id, r.label, f.min_count, f.word
    FROM dimension_words_filtered AS f
    JOIN runs AS r USING (run_id)
    WHERE r.status = 'complete' AND f.pole = 'max' AND f.rank <= 5
),
variants AS (SELECT DISTINCT run_id, label, min_count FROM filtered_sets),
common AS (
    SELECT a.run_id AS run_a, b.run_id AS run_b, a.min_count, count(*) AS n_common,
           string_agg(a.word, ', ' ORDER BY a.word) AS common_words
    FROM filtered_sets AS a
    JOIN filtered_sets AS b ON a.word = b.word AND a.min_count = b.min_count AND a.label < b.label
    GROUP BY a.run_id, b.run_id, a.min_count
)
SELECT va.label AS label_a, vb.label AS label_b, va.min_count,
       coalesce(c.n_common, 0) AS n_common_filtered,
       coalesce(c.common_words, '') AS common_words_filtered,
       o.n_common AS n_common_unfiltered
FROM variants AS va
JOIN variants AS vb ON va.min_count = vb.min_count AND va.label < vb.label
LEFT JOIN common AS c ON c.run_a = va.run_id AND c.run_b = vb.run_id AND c.min_count = va.min_count
LEFT JOIN model_overlap AS o ON o.label_a = va.label AND o.label_b = vb.label
ORDER BY va.label, vb.label
