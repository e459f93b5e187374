-- Where does a planted pseudoword a+b lie beside the two words it replaced? One row per run and
-- pseudoword (Schütze 1992; Arora et al. 2018, TACL): the run is aligned to its reference (the same
-- configuration on the original corpus) by orthogonal Procrustes over their other shared words, and
-- v_ab is regressed on [v_a, v_b] of the reference. span_cosine is the cosine between v_ab and its
-- projection on that span; alpha is the coefficient of the more frequent word, beta of the rarer;
-- arora_beta is Arora et al.'s line beta = 1 - 0.5 lg r. The null columns repeat the fit with two
-- random other words (counted like the planted ones, never merged) in place of a and b.
CREATE OR REPLACE VIEW pseudoword_recovery AS
WITH ratios AS (
    SELECT *,
           greatest(count_a, count_b)::DOUBLE / least(count_a, count_b) AS frequency_ratio
    FROM pseudowords
)
SELECT p.run_id, r.label, r.corpus, r.dim, r.seed, reference.label AS reference_label,
       p.token, p.word_a, p.word_b, p.count_a, p.count_b,
       CASE WHEN p.count_a >= p.count_b THEN p.word_a ELSE p.word_b END AS frequent_word,
       CASE WHEN p.count_a >= p.count_b THEN p.word_b ELSE p.word_a END AS rare_word,
       p.frequency_ratio, log2(p.frequency_ratio) AS lg_ratio,
       f.span_cosine, f.alpha, f.beta, 1 - 0.5 * log2(p.frequency_ratio) AS arora_beta,
       f.null_word_a, f.null_word_b, f.null_span_cosine, f.null_alpha, f.null_beta
FROM ratios AS p
JOIN pseudoword_fits AS f USING (run_id, token)
JOIN pseudoword_alignment AS a USING (run_id)
JOIN runs AS r USING (run_id)
JOIN runs AS reference ON reference.run_id = a.reference_run_id
WHERE r.status = 'complete'
