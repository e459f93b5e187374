"""Every table of the report is one of these queries over the views; the page shows each one's SQL."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

RUNS = """SELECT label, source, model_name, corpus, dim, seed, vocab_size, n_untrained,
       mlflow_run_id, mlflow_status
FROM run_summary
ORDER BY source, corpus, dim, seed, label"""

UNAVAILABLE = """SELECT label, requested, reason, attempted_at
FROM unavailable_sources ORDER BY label"""

# Approach 1: the minimal models' coordinates and pairwise geometry.
SMALL_VECTORS = """SELECT r.label, r.corpus, r.dim, v.word, v.dimension, v.value, w.rank
FROM word_vectors AS v
JOIN run_summary AS r USING (run_id)
JOIN word_stats AS w ON w.run_id = v.run_id AND w.word = v.word
WHERE r.label = r.corpus || '_' || r.dim AND r.corpus LIKE 'corpus_%'
ORDER BY r.corpus, r.dim, w.rank, v.dimension"""

PAIR_GEOMETRY = """SELECT label, word_a, word_b, round(cosine, 3) AS cosine,
       round(angle_degrees, 1) AS angle_degrees
FROM pair_geometry_summary
WHERE corpus = ? AND label = corpus || '_' || dim
ORDER BY dim, word_a, word_b"""

AVERAGE_ANGLE = """SELECT label, dim, round(any_value(average_angle), 1) AS average_angle_degrees,
       count(*) AS word_pairs
FROM pair_geometry_summary
WHERE corpus = ? AND label = corpus || '_' || dim
GROUP BY label, dim ORDER BY dim"""

# Approach 2: neighbours of v_a - v_b, side by side.
DIFFERENCES = """SELECT word_a, word_b, label, status, missing_words, neighbours, similarities
FROM difference_comparison
ORDER BY word_a, word_b, label"""

# Approach 3: dimension words.
DIMENSION_WORDS = """SELECT label, dimension,
       list(word ORDER BY rank) AS words,
       list(round(similarity, 2) ORDER BY rank) AS similarities
FROM dimension_words JOIN run_summary USING (run_id)
WHERE pole = 'max' AND rank <= 5
GROUP BY label, dimension
ORDER BY label, dimension"""

FIRST_DIMENSIONS = """SELECT dimension, label, word
FROM dimension_words JOIN run_summary USING (run_id)
WHERE source = 'pretrained' AND pole = 'max' AND rank = 1 AND dimension < 16
ORDER BY dimension, label"""

DUPLICATES = """SELECT label, word, n_dimensions, dimensions
FROM duplicate_dimension_words
ORDER BY label, n_dimensions DESC, word"""

OVERLAP = """SELECT o.label_a AS "Model 1", o.label_b AS "Model 2",
       o.n_common AS "# Words in Common", o.common_words AS "Words in Common",
       o.n_shared_vocab AS "shared vocab", round(o.expected_common, 2) AS "expected",
       round(o.ratio, 1) AS ratio, o.p_value AS "p-value"
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
WHERE a.vocab_size > 1000 AND b.vocab_size > 1000
ORDER BY o.label_a, o.label_b"""

OVERLAP_MATRIX = """SELECT label_a, label_b, n_common FROM model_overlap"""

SETTINGS = """SELECT label, source,
       coalesce(parameters->'vectors'->>'name', parameters->'vectors'->'corpus'->>'name') AS model_or_corpus,
       dim, seed,
       parameters->'vectors'->>'sg' AS sg, parameters->'vectors'->>'window' AS "window",
       parameters->'vectors'->>'min_count' AS min_count, parameters->'vectors'->>'epochs' AS epochs,
       parameters->'vectors'->>'workers' AS workers, parameters->'vectors'->>'gensim' AS gensim,
       top_k, parameters->'analysis'->'pairs' AS pairs, left(fingerprint, 12) AS fingerprint
FROM runs WHERE status = 'complete'
ORDER BY label"""


@dataclass(frozen=True)
class Table:
    """A query's answer, with the SQL that gave it (shown under the table, ready for `polyuni sql`)."""

    sql: str
    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def run(connection: duckdb.DuckDBPyConnection, sql: str, *parameters) -> Table:
    result = connection.execute(sql, list(parameters))
    shown = sql
    for parameter in parameters:  # show the SQL as a user would paste it
        shown = shown.replace("?", f"'{parameter}'", 1)
    return Table(shown, [column[0] for column in result.description], result.fetchall())

# Is it universal? Controls.
SIMILARITY_MATRIX = """SELECT label_a, label_b, metric, calibrated
FROM similarity_scores
WHERE metric = 'linear_cka' OR metric LIKE 'mutual_knn%'"""

ROTATION_CONTROL = """SELECT c.label_a AS source, c.label_b AS rotated, c.value AS "largest cosine change",
       o.n_common AS "dimension words in common", round(o.expected_common, 2) AS "expected by chance",
       round(r.null_mean, 1) AS "rotation null mean", round(knn.value, 4) AS "mutual k-NN",
       round(cka.value, 4) AS "linear CKA"
FROM similarity_scores AS c
LEFT JOIN model_overlap AS o ON o.label_a = c.label_a AND o.label_b = c.label_b
LEFT JOIN similarity_scores AS r
    ON r.label_a = c.label_a AND r.label_b = c.label_b AND r.metric = 'axis_overlap_rotation_null'
LEFT JOIN similarity_scores AS knn
    ON knn.label_a = c.label_a AND knn.label_b = c.label_b AND knn.metric LIKE 'mutual_knn%'
LEFT JOIN similarity_scores AS cka
    ON cka.label_a = c.label_a AND cka.label_b = c.label_b AND cka.metric = 'linear_cka'
WHERE c.metric = 'rotation_max_cosine_change'
ORDER BY source, rotated"""

ROTATION_NULL = """SELECT label_a, label_b, value AS "words in common", round(null_mean, 1) AS "rotation null mean",
       round(null_sd, 1) AS "null sd", round(calibrated, 1) AS calibrated, p_value AS "p-value"
FROM similarity_scores
WHERE metric = 'axis_overlap_rotation_null'
ORDER BY calibrated DESC, label_a, label_b"""

SWEEP = """SELECT comparison, count(*) AS pairs,
       round(avg(n_common), 1) AS "mean words in common", round(avg(expected_common), 2) AS "mean expected",
       round(avg(mutual_knn), 4) AS "mean mutual k-NN", round(avg(mutual_knn_calibrated), 1) AS "mean calibrated k-NN",
       round(avg(linear_cka), 3) AS "mean CKA", round(avg(linear_cka_calibrated), 1) AS "mean calibrated CKA"
FROM sweep_pairs
GROUP BY comparison
ORDER BY CASE comparison WHEN 'seeds' THEN 1 WHEN 'corpora' THEN 2 ELSE 3 END"""

ATTRIBUTION = """SELECT t.label_a, t.label_b, t.n_common, t.n_untrained, t.n_frequent, t.n_rest
FROM overlap_attribution AS t
JOIN run_summary AS a ON a.label = t.label_a
JOIN run_summary AS b ON b.label = t.label_b
WHERE a.vocab_size > 1000 AND b.vocab_size > 1000
ORDER BY t.n_common DESC, t.label_a, t.label_b"""

FREQUENCY = """SELECT label, vocab_size, n_words, round(p10_percentile, 1) AS p10, round(median_percentile, 1) AS median,
       round(p90_percentile, 1) AS p90, round(share_untrained, 3) AS share_untrained, round(share_top100, 3) AS share_top100
FROM dimension_word_frequency
WHERE vocab_size > 1000
ORDER BY label"""

FILTERED = """SELECT label_a, label_b, min_count, n_common_unfiltered, n_common_filtered, common_words_filtered
FROM filtered_overlap
ORDER BY n_common_filtered DESC, label_a, label_b"""

# One row of the numbers that the findings paragraph states.
FINDINGS = """SELECT
    (SELECT count(*) FROM sweep_pairs WHERE comparison = 'seeds') AS seed_pairs,
    (SELECT avg(n_common) FROM sweep_pairs WHERE comparison = 'seeds') AS seed_common,
    (SELECT avg(expected_common) FROM sweep_pairs WHERE comparison = 'seeds') AS seed_expected,
    (SELECT avg(mutual_knn_calibrated) FROM sweep_pairs WHERE comparison = 'seeds') AS seed_knn_z,
    (SELECT avg(r.null_mean) FROM sweep_pairs AS s JOIN similarity_scores AS r
        ON r.label_a = s.label_a AND r.label_b = s.label_b AND r.metric = 'axis_overlap_rotation_null'
     WHERE s.comparison = 'seeds') AS seed_rotation_null,
    (SELECT avg(r.calibrated) FROM sweep_pairs AS s JOIN similarity_scores AS r
        ON r.label_a = s.label_a AND r.label_b = s.label_b AND r.metric = 'procrustes_overlap_5'
     WHERE s.comparison = 'seeds') AS seed_procrustes_z,
    (SELECT count(*) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_pairs,
    (SELECT avg(n_common) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_common,
    (SELECT avg(expected_common) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_expected,
    (SELECT avg(mutual_knn_calibrated) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_knn_z,
    (SELECT avg(mutual_knn) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_knn,
    (SELECT sum(n_untrained) / nullif(sum(n_common), 0) FROM overlap_attribution) AS share_untrained,
    (SELECT sum(n_frequent) / nullif(sum(n_common), 0) FROM overlap_attribution) AS share_frequent,
    (SELECT count(*) FILTER (WHERE p_value < 0.05) FROM similarity_scores WHERE metric = 'axis_overlap_rotation_null') AS beat_rotation,
    (SELECT count(*) FROM similarity_scores WHERE metric = 'axis_overlap_rotation_null') AS rotation_pairs,
    (SELECT count(*) FILTER (WHERE p_value < 0.05) FROM similarity_scores WHERE metric LIKE 'mutual_knn%') AS knn_significant,
    (SELECT count(*) FROM similarity_scores WHERE metric LIKE 'mutual_knn%') AS knn_pairs"""

# Features: polysemanticity without a basis.
FEATURE_SETS = """SELECT label, seed, atoms, nonzero, words, n_fit, n_encoded, round(explained_variance, 3) AS "R²",
       dead_atoms, round(seconds, 1) AS seconds
FROM feature_set_summary
ORDER BY label, atoms, seed"""

FEATURE_UNIVERSALITY = """SELECT u.label_a AS "Model 1", u.label_b AS "Model 2", o.n_common AS "dimension words in common",
       u.n_words AS "shared words", round(u.mean_matched_correlation, 3) AS "mean matched |r|",
       round(u.null_mean, 3) AS "null mean", round(u.z, 1) AS z, u.p_value AS "p-value",
       round(u.seed_ceiling, 3) AS "seed ceiling",
       u.n_matched_above_threshold AS "atoms matched above threshold", u.threshold,
       round(u.null_above_threshold, 1) AS "null above threshold"
FROM feature_universality AS u
LEFT JOIN model_overlap AS o ON o.label_a = u.label_a AND o.label_b = u.label_b
ORDER BY u.label_a, u.label_b"""

FEATURE_STABILITY = """SELECT label, atoms, seed_a, seed_b, round(mean_matched_cosine, 3) AS "mean matched cosine",
       round(share_cosine_above_0_9, 3) AS "share above 0.9", round(mean_matched_correlation, 3) AS "mean matched |r|",
       n_matched_above_threshold AS "atoms above threshold"
FROM feature_stability
ORDER BY label, atoms, seed_a, seed_b"""

MATCHED_FEATURES = """SELECT label_a, label_b, atom_a, atom_b, round(correlation, 3) AS "|r|", shared_top_words,
       top_words_a[1:6] AS top_words_a, top_words_b[1:6] AS top_words_b
FROM matched_features
WHERE label_a <> label_b
QUALIFY row_number() OVER (PARTITION BY label_a, label_b ORDER BY correlation DESC, atom_a) <= 8
ORDER BY label_a, label_b, correlation DESC"""

FEATURE_SCORES = """SELECT s.label, s.seed, c.metric, round(c.value, 3) AS value, round(c.null_mean, 3) AS null_mean,
       round(c.null_sd, 3) AS null_sd, round(c.calibrated, 1) AS calibrated, c.p_value AS "p-value", c.n
FROM feature_set_scores AS c JOIN feature_set_summary AS s USING (feature_set_id)
ORDER BY s.label, s.seed, c.metric"""

DIMENSION_POLYSEMANTICITY = """SELECT label, participation_ratio
FROM dimension_polysemanticity
WHERE (feature_set_id) IN (SELECT min(feature_set_id) FROM feature_set_summary GROUP BY label)
ORDER BY label, dimension"""

ATOMS_BY_SENSES = """SELECT label, least(n_senses, 12) AS senses, avg(effective_atoms) AS effective_atoms, count(*) AS words
FROM word_polysemy
WHERE (feature_set_id) IN (SELECT min(feature_set_id) FROM feature_set_summary GROUP BY label)
GROUP BY label, senses
ORDER BY label, senses"""
