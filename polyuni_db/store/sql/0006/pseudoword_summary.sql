-- Does each run with planted pseudowords bear out the linearity assertion? One row per run: the
-- mean and sd of the span cosine against its null (two random words in place of a and b), the
-- margin in null standard deviations, the mean alpha and beta, the least-squares line of beta on
-- lg r (Arora et al. 2018 give about 1 - 0.5 lg r), and Spearman's rho of beta against lg r
-- (computed with scipy when the run was measured).
CREATE OR REPLACE VIEW pseudoword_summary AS
SELECT v.run_id, v.label, v.corpus, v.dim, v.seed, v.reference_label,
       count(*) AS n_pseudowords,
       avg(v.span_cosine) AS mean_span_cosine, stddev_samp(v.span_cosine) AS sd_span_cosine,
       avg(v.null_span_cosine) AS null_mean_span_cosine, stddev_samp(v.null_span_cosine) AS null_sd_span_cosine,
       (avg(v.span_cosine) - avg(v.null_span_cosine)) / nullif(stddev_samp(v.null_span_cosine), 0) AS span_margin_null_sd,
       avg(v.alpha) AS mean_alpha, avg(v.beta) AS mean_beta,
       regr_intercept(v.beta, v.lg_ratio) AS beta_intercept, regr_slope(v.beta, v.lg_ratio) AS beta_slope,
       any_value(a.beta_spearman_rho) AS beta_spearman_rho, any_value(a.beta_spearman_p) AS beta_spearman_p,
       any_value(a.n_aligned) AS n_aligned, any_value(a.alignment_cosine) AS alignment_cosine
FROM pseudoword_recovery AS v
JOIN pseudoword_alignment AS a USING (run_id)
GROUP BY v.run_id, v.label, v.corpus, v.dim, v.seed, v.reference_label
