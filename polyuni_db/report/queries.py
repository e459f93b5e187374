"""Every table of the report is one of these queries over the views; the page shows each one's SQL."""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

from polyuni_db.derived.verdict import VERDICT  # noqa: F401  (the report's first table)

# Seed sweeps of small models (the blog preset trains each toy configuration over 20 seeds): the
# page lists each configuration's first seed only and counts the rest (SEED_SWEEPS), so that
# hundreds of toy runs do not bury the study's models; Approach 1 summarises every seed.
FURTHER_SEED = "coalesce(seed, 1) <> 1 AND vocab_size <= 1000"

RUNS = f"""SELECT label, source, coalesce(corpus, model_name) AS "model or corpus", dim, seed, vocab_size,
       n_untrained, mlflow_run_id, mlflow_status
FROM run_summary
WHERE NOT ({FURTHER_SEED})
ORDER BY source, corpus, dim, seed, label"""

# The runs at a glance, every seed counted: what kind, how many, on what, at which sizes.
RUNS_SUMMARY = """SELECT source, model_name AS "algorithm or model", count(*) AS runs,
       string_agg(DISTINCT corpus, ', ' ORDER BY corpus) AS corpora,
       array_to_string(list(DISTINCT dim ORDER BY dim), ', ') AS dimensions,
       array_to_string(list(DISTINCT seed ORDER BY seed) FILTER (WHERE seed IS NOT NULL), ', ') AS seeds,
       count(*) FILTER (WHERE mlflow_status = 'logged') AS "logged in MLflow"
FROM run_summary
GROUP BY ALL
ORDER BY source, model_name"""

SEED_SWEEPS = f"""SELECT count(*) AS runs, count(DISTINCT (corpus, dim)) AS configurations,
       min(seed) AS first_seed, max(seed) AS last_seed
FROM run_summary
WHERE {FURTHER_SEED}"""

UNAVAILABLE = """SELECT label, requested, reason, attempted_at
FROM unavailable_sources ORDER BY label"""

# Approach 1: the minimal models' coordinates and pairwise geometry: the published runs (label
# corpus_dim) and the trained variants' first seed (corpus_dim_trained, `polyuni study`).
SMALL_VECTORS = """SELECT r.label, r.corpus, r.dim, v.word, v.dimension, v.value, w.rank,
       CASE WHEN r.label = r.corpus || '_' || r.dim THEN 'published' ELSE 'trained' END AS variant
FROM word_vectors AS v
JOIN run_summary AS r USING (run_id)
JOIN word_stats AS w ON w.run_id = v.run_id AND w.word = v.word
WHERE r.label IN (r.corpus || '_' || r.dim, r.corpus || '_' || r.dim || '_trained') AND r.corpus LIKE 'corpus_%'
ORDER BY r.corpus, r.dim, variant, w.rank, v.dimension"""

# How far training moved the vectors: the published runs against the trained variants (every seed).
TRAINING_CHANGE = """SELECT CASE WHEN r.label = r.corpus || '_' || r.dim THEN 'published' ELSE 'trained' END AS variant,
       any_value(c.sample) AS sample, any_value(c.epochs) AS epochs,
       count(DISTINCT r.run_id) AS runs, count(*) AS word_vectors,
       count(*) FILTER (WHERE NOT w.trained) AS untrained,
       max(w.moved) AS largest_change, median(w.moved) AS median_change
FROM run_summary AS r
JOIN word_stats AS w USING (run_id)
JOIN run_configuration AS c USING (run_id)
WHERE r.corpus LIKE 'corpus_%'
  AND (r.label = r.corpus || '_' || r.dim OR r.label LIKE r.corpus || '_' || r.dim || '_trained%')
GROUP BY variant ORDER BY variant"""

# Feature dimensionality per run (seeds as spread), published and trained.
SUPERPOSITION = """SELECT corpus, dim, label, seed,
       CASE WHEN label = corpus || '_' || dim THEN 'published' ELSE 'trained' END AS variant,
       mean_dimensionality_unit, mean_dimensionality, dimensions_per_feature_unit, mean_max_interference
FROM run_superposition
WHERE source = 'train' AND corpus LIKE 'corpus_%'
  AND (label = corpus || '_' || dim OR label LIKE corpus || '_' || dim || '_trained%')
ORDER BY corpus, dim, variant, seed"""

SUPERPOSITION_SUMMARY = """SELECT corpus, dim,
       CASE WHEN label = corpus || '_' || dim THEN 'published' ELSE 'trained' END AS variant,
       count(*) AS seeds, round(any_value(dimensions_per_feature_unit), 3) AS dims_per_word,
       round(avg(mean_dimensionality_unit), 3) AS mean_dimensionality,
       round(stddev_samp(mean_dimensionality_unit), 3) AS sd_across_seeds,
       round(avg(mean_max_interference), 3) AS mean_max_interference
FROM run_superposition
WHERE source = 'train' AND corpus LIKE 'corpus_%'
  AND (label = corpus || '_' || dim OR label LIKE corpus || '_' || dim || '_trained%')
GROUP BY corpus, dim, variant ORDER BY corpus, dim, variant"""

# Is a pair's interference shared across seeds? Only configurations trained over several seeds.
INTERFERENCE_SUMMARY = """SELECT corpus, dim, any_value(sample) AS sample, any_value(epochs) AS epochs,
       max(n_seeds) AS seeds, count(*) AS word_pairs,
       count(*) FILTER (WHERE share_interfering >= 0.9) AS "interfering in >= 90 % of seeds",
       count(*) FILTER (WHERE initial_share_interfering >= 0.9) AS "initial vectors: >= 90 %",
       count(*) FILTER (WHERE share_interfering <= 0.1) AS "interfering in <= 10 %",
       count(*) FILTER (WHERE initial_share_interfering <= 0.1) AS "initial vectors: <= 10 %",
       round(avg(share_interfering), 3) AS mean_share, round(any_value(random_share), 3) AS random_share
FROM pair_interference
WHERE n_seeds >= 2
GROUP BY corpus, dim, configuration ORDER BY corpus, dim"""

PAIR_INTERFERENCE = """SELECT corpus, dim, word_a, word_b, n_seeds, round(share_interfering, 2) AS share_interfering,
       round(mean_abs_cosine, 3) AS mean_abs_cosine, round(initial_share_interfering, 2) AS initial_share,
       round(random_share, 3) AS random_share
FROM pair_interference
WHERE n_seeds >= 2
ORDER BY corpus, dim, share_interfering DESC, mean_abs_cosine DESC, word_a, word_b"""

# The numbers of the sentence that reads pair_interference.
INTERFERENCE_FINDINGS = """SELECT count(*) AS word_pairs, max(n_seeds) AS seeds,
       count(*) FILTER (WHERE share_interfering >= 0.9) AS universal,
       count(*) FILTER (WHERE initial_share_interfering >= 0.9) AS universal_at_random,
       count(*) FILTER (WHERE share_interfering <= 0.1) AS apart,
       count(*) FILTER (WHERE initial_share_interfering <= 0.1) AS apart_at_random,
       avg(share_interfering) AS mean_share, avg(random_share) AS random_share,
       (SELECT list(DISTINCT format('{} ({} dims): {}/{}', corpus, dim, CAST(round(share_interfering * n_seeds) AS INTEGER), n_seeds)
                    ORDER BY format('{} ({} dims): {}/{}', corpus, dim, CAST(round(share_interfering * n_seeds) AS INTEGER), n_seeds))
        FROM pair_interference
        WHERE n_seeds >= 2 AND corpus = 'corpus_bark' AND word_a = 'Dog' AND word_b = 'Tree') AS dog_tree
FROM pair_interference
WHERE n_seeds >= 2"""

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
# case_variants: the words of the run that differ from a missing word only by case (Poland for poland)
DIFFERENCES = """SELECT d.word_a, d.word_b, d.label, r.corpus, d.status, d.missing_words, d.neighbours, d.similarities,
       CASE WHEN d.status = 'missing words' THEN (
           SELECT list(w.word ORDER BY w.word) FROM word_stats AS w
           WHERE w.run_id = d.run_id
             AND list_contains(list_transform(string_split(d.missing_words, ', '), m -> lower(m)), lower(w.word)))
       END AS case_variants
FROM difference_comparison AS d
JOIN run_summary AS r USING (run_id)
ORDER BY d.word_a, d.word_b, d.label"""

# Approach 2 across models: do two models share the neighbours of the same difference vector, beside
# two unrelated pairs' lists of the same two runs (the null) and two seeds of one configuration (the
# ceiling)? By what separates the two runs; a run against its own rotation is left out (a control).
DIFFERENCE_AGREEMENT = """SELECT coalesce(contrast, 'a pretrained or planted run, or not compared') AS "what separates the two runs",
       count(DISTINCT (label_a, label_b)) AS "pairs of runs", count(*) AS "word pairs × pairs of runs",
       round(avg(agreement), 3) AS "mean shared neighbours", round(avg(null_agreement), 3) AS "null: other word pairs"
FROM difference_agreement
WHERE NOT rotation
GROUP BY 1
ORDER BY CASE "what separates the two runs" WHEN 'other seed' THEN 0 ELSE 1 END, 1"""

DIFFERENCE_AGREEMENT_BY_PAIR = """SELECT word_a || ' − ' || word_b AS "word pair",
       count(*) FILTER (WHERE contrast IS DISTINCT FROM 'other seed') AS "pairs of runs",
       round(avg(agreement) FILTER (WHERE contrast IS DISTINCT FROM 'other seed'), 3) AS "mean shared neighbours",
       round(avg(null_agreement) FILTER (WHERE contrast IS DISTINCT FROM 'other seed'), 3) AS "null: other word pairs",
       count(*) FILTER (WHERE contrast = 'other seed') AS "seed pairs",
       round(avg(agreement) FILTER (WHERE contrast = 'other seed'), 3) AS "ceiling: two seeds"
FROM difference_agreement
WHERE NOT rotation
GROUP BY ALL
ORDER BY 1"""

# Approach 3: dimension words.
DIMENSION_WORDS = f"""SELECT label, dimension,
       list(word ORDER BY rank) AS words,
       list(round(similarity, 2) ORDER BY rank) AS similarities
FROM dimension_words JOIN run_summary USING (run_id)
WHERE pole = 'max' AND rank <= 5 AND NOT ({FURTHER_SEED})
GROUP BY label, dimension
ORDER BY label, dimension"""

FIRST_DIMENSIONS = """SELECT dimension, label, word
FROM dimension_words JOIN run_summary USING (run_id)
WHERE source = 'pretrained' AND pole = 'max' AND rank = 1 AND dimension < 16
ORDER BY dimension, label"""

DUPLICATES = """SELECT label, word, n_dimensions, dimensions
FROM duplicate_dimension_words
ORDER BY label, n_dimensions DESC, word"""

# The published table, pairs of models over 1,000 words, with two baselines: uniform chance (a set
# drawn at random from the shared vocabulary) and random axes (Model 1 rotated at random R times).
# "Words in Common" is a list: a token such as "," would be ambiguous in a comma-joined string.
OVERLAP = """SELECT o.label_a AS "Model 1", o.label_b AS "Model 2",
       o.n_common AS "# Words in Common",
       (SELECT list(sa.word ORDER BY sa.word) FROM dimension_word_sets AS sa
        JOIN dimension_word_sets AS sb ON sb.word = sa.word
        WHERE sa.label = o.label_a AND sb.label = o.label_b) AS "Words in Common",
       o.n_shared_vocab AS "shared vocab", round(o.expected_common, 2) AS "uniform chance",
       o.p_value AS "p (chance)",
       round(r.null_mean, 1) AS "random axes", r.p_value AS "p (axes)"
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
LEFT JOIN similarity_scores AS r
    ON r.label_a = o.label_a AND r.label_b = o.label_b AND r.metric = 'axis_overlap_rotation_null'
WHERE a.vocab_size > 1000 AND b.vocab_size > 1000
ORDER BY o.label_a, o.label_b"""

# The headline table summarised by what separates the two models: the full table is behind a block.
OVERLAP_BY_CONTRAST = """SELECT CASE WHEN f.contrast IS NOT NULL THEN f.contrast
            WHEN a.source <> 'train' OR b.source <> 'train' THEN 'with a pretrained or rotated model'
            ELSE 'trained runs not compared pairwise' END AS "what separates the two models",
       count(*) AS "pairs of models", round(avg(o.n_common), 1) AS "mean words in common",
       round(avg(o.expected_common), 2) AS "mean uniform chance", round(avg(r.null_mean), 1) AS "mean random axes",
       count(*) FILTER (WHERE r.p_value < 0.05) AS "pairs beating random axes (p < 0.05)"
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
LEFT JOIN pair_factors AS f ON f.label_a = o.label_a AND f.label_b = o.label_b
LEFT JOIN similarity_scores AS r
    ON r.label_a = o.label_a AND r.label_b = o.label_b AND r.metric = 'axis_overlap_rotation_null'
WHERE a.vocab_size > 1000 AND b.vocab_size > 1000
GROUP BY 1
ORDER BY CASE "what separates the two models" WHEN 'other seed' THEN 0 ELSE 1 END, 1"""

# The reading above the headline table: how many of its pairs beat uniform chance, and random axes.
OVERLAP_READING = """SELECT count(*) AS pairs,
       count(*) FILTER (WHERE o.p_value < 0.05) AS beat_chance,
       count(r.p_value) AS with_axes_null,
       count(*) FILTER (WHERE r.p_value < 0.05) AS beat_axes,
       -- the means are over the pairs that have both baselines, so that they compare
       avg(o.n_common) FILTER (WHERE r.p_value IS NOT NULL) AS mean_common,
       avg(o.expected_common) FILTER (WHERE r.p_value IS NOT NULL) AS mean_chance,
       avg(r.null_mean) FILTER (WHERE r.p_value IS NOT NULL) AS mean_axes,
       min(r.parameters->>'rotations') AS rotations
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
LEFT JOIN similarity_scores AS r
    ON r.label_a = o.label_a AND r.label_b = o.label_b AND r.metric = 'axis_overlap_rotation_null'
WHERE a.vocab_size > 1000 AND b.vocab_size > 1000"""

# Minimal models (at most 1,000 words), by pair of corpora: nearly every word of such a model is a
# dimension word, so what two of them share is the vocabulary their corpora share.
OVERLAP_MINIMAL = """SELECT least(a.corpus, b.corpus) AS "corpus 1", greatest(a.corpus, b.corpus) AS "corpus 2",
       count(*) AS "model pairs", round(avg(o.n_common), 2) AS "mean in common",
       min(o.n_common) AS "fewest in common", max(o.n_common) AS "most in common",
       max(o.n_shared_vocab) AS "shared vocab", round(avg(o.expected_common), 2) AS "mean uniform chance"
FROM model_overlap AS o
JOIN run_summary AS a ON a.label = o.label_a
JOIN run_summary AS b ON b.label = o.label_b
WHERE a.vocab_size <= 1000 AND b.vocab_size <= 1000 AND (o.n_common > 0 OR a.corpus = b.corpus)
GROUP BY ALL
ORDER BY 1, 2"""

# Every setting that separates two runs: beside the columns, each training setting whose value is
# not the same in every run that has it (sample separates the published minimal runs from the trained).
SETTINGS = f"""WITH settings AS (
    SELECT r.label, k.key, json_extract_string(r.parameters->'vectors', '$."' || k.key || '"') AS value
    FROM runs AS r, unnest(json_keys(r.parameters->'vectors')) AS k(key)
    WHERE r.status = 'complete'
), varying AS (
    SELECT key FROM settings
    WHERE key NOT IN ('source', 'corpus', 'name', 'dim', 'seed')
    GROUP BY key HAVING count(DISTINCT coalesce(value, 'none')) > 1
), training AS (
    SELECT label, string_agg(key || '=' || coalesce(value, 'none'), ' ' ORDER BY key) AS settings
    FROM settings JOIN varying USING (key) GROUP BY label
)
SELECT r.label, r.source, r.model_name AS "algorithm or model",
       coalesce(r.parameters->'vectors'->>'name', r.parameters->'vectors'->'corpus'->>'name') AS model_or_corpus,
       r.dim, r.seed, t.settings AS "settings that differ between runs", r.top_k,
       array_to_string(from_json(r.parameters->'analysis'->'pairs', '["VARCHAR"]'), ' ') AS pairs,
       left(r.fingerprint, 12) AS fingerprint
FROM runs AS r LEFT JOIN training AS t USING (label)
WHERE r.status = 'complete' AND NOT ({FURTHER_SEED})
ORDER BY r.label"""


@dataclass(frozen=True)
class Table:
    """A query's answer, with the SQL that gave it (shown under the table, ready for `polyuni sql`)."""

    sql: str
    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    @property
    def numeric_columns(self) -> set[str]:
        """Columns whose every value is a number: right-aligned, never wrapped."""
        found = set()
        for index, column in enumerate(self.columns):
            present = [row[index] for row in self.rows if row[index] is not None]
            if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
                found.add(column)
        return found


def run(connection: duckdb.DuckDBPyConnection, sql: str, *parameters) -> Table:
    result = connection.execute(sql, list(parameters))
    shown = sql
    for parameter in parameters:  # show the SQL as a user would paste it
        shown = shown.replace("?", f"'{parameter}'", 1)
    return Table(shown, [column[0] for column in result.description], result.fetchall())

# Is it universal? Controls.
SIMILARITY_MATRIX = """SELECT label_a, label_b, metric, effect_size
FROM similarity_effect_sizes
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
    (SELECT avg(r.null_mean) FROM sweep_pairs AS s JOIN similarity_scores AS r
        ON r.label_a = s.label_a AND r.label_b = s.label_b AND r.metric = 'axis_overlap_rotation_null'
     WHERE s.comparison = 'seeds') AS seed_rotation_null,
    (SELECT count(*) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_pairs,
    (SELECT avg(n_common) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_common,
    (SELECT avg(expected_common) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_expected,
    (SELECT avg(mutual_knn) FROM sweep_pairs WHERE comparison = 'corpora') AS corpus_knn,
    (SELECT sum(n_untrained) / nullif(sum(n_common), 0) FROM overlap_attribution) AS share_untrained,
    (SELECT sum(n_frequent) / nullif(sum(n_common), 0) FROM overlap_attribution) AS share_frequent,
    (SELECT count(*) FILTER (WHERE p_value < 0.05) FROM similarity_scores WHERE metric = 'axis_overlap_rotation_null') AS beat_rotation,
    (SELECT count(*) FROM similarity_scores WHERE metric = 'axis_overlap_rotation_null') AS rotation_pairs,
    (SELECT count(*) FILTER (WHERE p_value < 0.05) FROM similarity_scores WHERE metric LIKE 'mutual_knn%') AS knn_significant,
    (SELECT count(*) FROM similarity_scores WHERE metric LIKE 'mutual_knn%') AS knn_pairs"""

# Data or algorithm? The comparisons of trained runs by which factors differ.
CONTRAST_ORDER = """CASE contrast WHEN 'other seed' THEN 1 WHEN 'other algorithm, same corpus' THEN 2
         WHEN 'same algorithm, other corpus' THEN 3 WHEN 'other algorithm, other corpus' THEN 4 ELSE 5 END"""

FAMILY_CONTRASTS = f"""SELECT metric, contrast, n_pairs AS pairs, round(mean_value, 4) AS "mean score",
       round(sd_value, 4) AS "sd", round(mean_calibrated, 1) AS "mean z",
       round(share_significant, 3) AS "share p < 0.05", round(mean_effect_size, 3) AS "mean effect size",
       round(median_effect_size, 3) AS "median effect size", round(sd_effect_size, 3) AS "effect size sd", n_without_seed_ceiling AS "pairs without seed ceiling"
FROM universality_by_factor
ORDER BY metric, {CONTRAST_ORDER}, contrast"""

FAMILY_AXIS = f"""SELECT contrast, n_pairs AS pairs, round(mean_common, 1) AS "mean words in common",
       round(mean_rotation_null, 1) AS "mean rotation null", round(mean_excess, 2) AS "mean excess",
       round(mean_calibrated, 2) AS "mean z", n_beat_rotation AS "pairs beating rotations",
       round(mean_effect_size, 3) AS "mean effect size"
FROM axis_overlap_by_factor
ORDER BY {CONTRAST_ORDER}, contrast"""

FAMILY_EFFECTS = f"""SELECT f.contrast, e.metric, e.effect_size
FROM pair_factors AS f
JOIN similarity_effect_sizes AS e ON e.label_a = f.label_a AND e.label_b = f.label_b
WHERE e.effect_size IS NOT NULL AND e.metric <> 'axis_overlap_rotation_null'
ORDER BY e.metric, {CONTRAST_ORDER.replace("contrast", "f.contrast")}, f.contrast"""

FAMILY_MATRIX = """SELECT f.label_a, f.label_b, e.effect_size, f.corpus_a, f.algorithm_a, f.corpus_b, f.algorithm_b
FROM pair_factors AS f
JOIN similarity_effect_sizes AS e ON e.label_a = f.label_a AND e.label_b = f.label_b
WHERE e.metric LIKE 'mutual_knn%'"""

# One row of the numbers the "Data or algorithm?" reading states: median effect sizes of mutual k-NN
# and linear CKA with the corpus held fixed and the algorithm changed, and the reverse, and the
# axis-aligned measure's verdict.
FAMILY_FINDINGS = """WITH held AS (
    SELECT metric, contrast, n_pairs, median_effect_size FROM universality_by_factor
    WHERE contrast IN ('other algorithm, same corpus', 'same algorithm, other corpus')
)
SELECT
    (SELECT n_pairs FROM held WHERE metric LIKE 'mutual_knn%' AND contrast = 'other algorithm, same corpus') AS algorithm_pairs,
    (SELECT n_pairs FROM held WHERE metric LIKE 'mutual_knn%' AND contrast = 'same algorithm, other corpus') AS corpus_pairs,
    (SELECT median_effect_size FROM held WHERE metric LIKE 'mutual_knn%' AND contrast = 'other algorithm, same corpus') AS algorithm_knn,
    (SELECT median_effect_size FROM held WHERE metric LIKE 'mutual_knn%' AND contrast = 'same algorithm, other corpus') AS corpus_knn,
    (SELECT median_effect_size FROM held WHERE metric = 'linear_cka' AND contrast = 'other algorithm, same corpus') AS algorithm_cka,
    (SELECT median_effect_size FROM held WHERE metric = 'linear_cka' AND contrast = 'same algorithm, other corpus') AS corpus_cka,
    (SELECT sum(n_beat_rotation) FROM axis_overlap_by_factor) AS axis_beat_rotation,
    (SELECT sum(n_pairs) FROM axis_overlap_by_factor) AS axis_pairs"""


# Ground truth: planted polysemy.
PLANTED_SUMMARY = """SELECT label, reference_label AS reference, n_pseudowords,
       round(mean_span_cosine, 3) AS "mean span cosine", round(sd_span_cosine, 3) AS sd,
       round(null_mean_span_cosine, 3) AS "null mean", round(null_sd_span_cosine, 3) AS "null sd",
       round(span_margin_null_sd, 1) AS "margin (null sd)",
       round(mean_alpha, 2) AS "mean alpha", round(mean_beta, 2) AS "mean beta",
       round(beta_slope, 3) AS "beta slope per lg r", round(beta_spearman_rho, 2) AS "Spearman rho (beta, lg r)",
       beta_spearman_p AS "p-value", n_aligned AS "aligned words"
FROM pseudoword_summary
ORDER BY corpus, dim, seed, label"""

PLANTED_POINTS = """SELECT label, token, lg_ratio, span_cosine, null_span_cosine, beta
FROM pseudoword_recovery
ORDER BY label, token"""

PLANTED_INSTRUMENTS = """SELECT label, instrument, n_pseudowords,
       round(share_both_senses, 2) AS "both senses", round(null_share_both_senses, 2) AS "null: both",
       round(share_one_sense, 2) AS "one sense at least", round(null_share_one_sense, 2) AS "null: one",
       round(mean_hits_per_sense, 2) AS "mean hits per sense", round(null_mean_hits_per_sense, 2) AS "null: hits"
FROM pseudoword_instrument_recovery
ORDER BY instrument, corpus, dim, seed, label"""

PLANTED_SEEDS = """SELECT corpus, dim, instrument, count(*) AS pseudowords, any_value(n_runs) AS runs,
       round(avg(share_of_runs), 2) AS "mean share of runs", count(*) FILTER (WHERE in_every_run) AS "found in every run",
       round(avg(null_share_of_runs), 2) AS "null: mean share", count(*) FILTER (WHERE null_in_every_run) AS "null: in every run"
FROM pseudoword_seed_agreement
GROUP BY corpus, dim, instrument
ORDER BY corpus, dim, instrument"""

PLANTED_WORDS = """SELECT label, token, frequent_word, rare_word, round(frequency_ratio, 1) AS r,
       round(span_cosine, 3) AS "span cosine", round(alpha, 2) AS alpha, round(beta, 2) AS beta,
       round(arora_beta, 2) AS "Arora's beta", null_word_a || '+' || null_word_b AS "null pair",
       round(null_span_cosine, 3) AS "null span cosine"
FROM pseudoword_recovery
ORDER BY label, frequency_ratio"""

# Features: polysemanticity without a basis.
FEATURE_SETS = """SELECT label, method, seed, atoms, n_reproducible AS "reproducible atoms", nonzero, words, n_fit,
       n_encoded, round(explained_variance, 3) AS "R²", dead_atoms, round(seconds, 1) AS seconds
FROM feature_set_summary
ORDER BY label, method, atoms, seed"""

# A comparison of two feature sets fitted from the same start (same seed, same words) is no evidence:
# left out here, counted in SHARED_INITIALIZATION.
FEATURE_UNIVERSALITY = """SELECT u.label_a || '@' || u.seed_a AS "Model 1", u.label_b || '@' || u.seed_b AS "Model 2",
       o.n_common AS "dimension words in common", u.n_words AS "shared words",
       u.n_atoms_a || ' / ' || u.n_atoms_b AS "reproducible atoms",
       round(u.mean_matched_correlation, 3) AS "mean matched |r|", round(u.top_word_jaccard, 3) AS "top-word Jaccard",
       round(u.null_mean, 3) AS "null mean", round(u.z, 1) AS z, u.p_value_text AS "p-value",
       round(u.seed_ceiling, 3) AS "seed ceiling",
       u.n_matched_above_threshold AS "atoms matched above threshold", u.threshold,
       u.null_above_threshold AS "null above threshold"
FROM feature_universality AS u
LEFT JOIN model_overlap AS o ON o.label_a = u.label_a AND o.label_b = u.label_b
WHERE NOT coalesce(u.shared_initialization, false)
ORDER BY u.label_a, u.label_b, u.seed_a, u.seed_b"""

SHARED_INITIALIZATION = """SELECT count(*) AS comparisons FROM feature_universality WHERE shared_initialization"""

FEATURE_STABILITY = """SELECT label, method, atoms, seed_a, seed_b, n_atoms_a || ' / ' || n_atoms_b AS "reproducible atoms",
       round(mean_matched_correlation, 3) AS "mean matched |r|", round(top_word_jaccard, 3) AS "top-word Jaccard",
       round(mean_matched_correlation_all_atoms, 3) AS "mean matched |r|, every atom",
       round(mean_matched_cosine, 3) AS "mean matched cosine", n_matched_above_threshold AS "atoms above threshold"
FROM feature_stability
ORDER BY label, method, atoms, seed_a, seed_b"""

MATCHED_FEATURES = """SELECT label_a || '@' || seed_a AS set_a, label_b || '@' || seed_b AS set_b, atom_a, atom_b,
       round(correlation, 3) AS "|r|", shared_top_words, top_words_a[1:6] AS top_words_a, top_words_b[1:6] AS top_words_b
FROM matched_features
WHERE label_a <> label_b AND NOT coalesce(shared_initialization, false)
QUALIFY row_number() OVER (PARTITION BY label_a, seed_a, label_b, seed_b ORDER BY correlation DESC, atom_a) <= 8
ORDER BY label_a, label_b, correlation DESC"""

FEATURE_SCORES = """SELECT s.label, s.seed, c.metric, round(c.value, 3) AS value, round(c.null_mean, 3) AS null_mean,
       round(c.null_sd, 3) AS null_sd, round(c.calibrated, 1) AS calibrated,
       CASE WHEN c.p_value_is_bound THEN '< ' || round(c.p_value, 4) ELSE CAST(round(c.p_value, 4) AS VARCHAR) END
           AS "p-value", c.n
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
