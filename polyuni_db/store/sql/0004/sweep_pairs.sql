-- What separates two trained runs, and how alike are they? Every pair of trained runs of more than
-- 1,000 words, classed as 'seeds' (same corpus and dimension, different seeds), 'corpora' (same
-- dimension, different corpora) or 'dimensions', with its dimension-word overlap against chance
-- and, where compared, its calibrated mutual k-NN and linear CKA.
CREATE OR REPLACE VIEW sweep_pairs AS
SELECT o.label_a, o.label_b,
       CASE WHEN a.corpus = b.corpus AND a.dim = b.dim THEN 'seeds'
            WHEN a.dim = b.dim THEN 'corpora'
            ELSE 'dimensions' END AS comparison,
       a.corpus AS corpus_a, b.corpus AS corpus_b, a.dim AS dim_a, b.dim AS dim_b,
       o.n_common, o.expected_common, o.ratio, o.p_value,
       knn.value AS mutual_knn, knn.calibrated AS mutual_knn_calibrated,
       cka.value AS linear_cka, cka.calibrated AS linear_cka_calibrated
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
LEFT JOIN similarity_scores AS knn
    ON knn.label_a = o.label_a AND knn.label_b = o.label_b AND knn.metric LIKE 'mutual_knn%'
LEFT JOIN similarity_scores AS cka
    ON cka.label_a = o.label_a AND cka.label_b = o.label_b AND cka.metric = 'linear_cka'
WHERE a.source = 'train' AND b.source = 'train' AND a.vocab_size > 1000 AND b.vocab_size > 1000
