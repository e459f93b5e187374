-- The answer first: one row per question the report asks, in the report's order. For each: the
-- instrument, what its items are, the measured value (mean over the items of verdict_items), its null
-- and its ceiling (means likewise), the effect size (measured - null) / (ceiling - null), 0 at
-- chance and 1 at the ceiling, with its 95 % bootstrap interval over the items (verdict_intervals,
-- written by polyuni when a study or comparison ends; shown only while it was computed from as many
-- items as the view now holds), a one-sentence reading built from these numbers, and the report
-- section it summarises. 'data vs algorithm vs seed' reads the pairs that change only the algorithm
-- against those that change only the corpus, both against the agreement of two seeds. A question
-- without items says which command measures it.
CREATE OR REPLACE VIEW verdict AS
WITH questions(position, question, instrument, items, section, command) AS (VALUES
    (1, 'dimension words', 'top-5 axis words two models share, per slot of the smaller model; null: random axes; ceiling: two seeds',
        'pairs of models', 'approach-3', 'polyuni study'),
    (2, 'difference vectors', 'top-10 neighbours of v_a − v_b two models share; null: another word pair''s neighbours; ceiling: two seeds',
        'word pairs × pairs of models', 'approach-2', 'polyuni study'),
    (3, 'toy superposition', 'seeds agreeing whether two words interfere, |2 share − 1|; null: the seeds'' initial vectors; ceiling: 1',
        'word pairs of toy models', 'approach-1', 'polyuni study'),
    (4, 'representational similarity', 'mutual 10-NN alignment; null: shuffled words; ceiling: two seeds (1 without)',
        'pairs of models', 'controls', 'polyuni study'),
    (5, 'features', 'mean matched |r| of dictionary atoms; null: shuffled words; ceiling: two dictionary seeds (1 without)',
        'pairs of models', 'features', 'polyuni study'),
    (6, 'planted polysemy', 'span cosine of a pseudoword on its two words; null: two random words; ceiling: 1',
        'pseudowords', 'planted', 'polyuni study'),
    (7, 'data vs algorithm vs seed', 'mutual 10-NN of runs that differ only in algorithm; null: shuffled words; ceiling: two seeds',
        'pairs of runs', 'families', 'polyuni study')
), measured AS (
    SELECT question, item_group, count(*) AS n_items,
           avg(value) AS measured, avg(null_value) AS null_value, avg(ceiling) AS ceiling,
           CASE WHEN avg(ceiling) > avg(null_value)
                THEN (avg(value) - avg(null_value)) / (avg(ceiling) - avg(null_value)) END AS effect_size
    FROM verdict_items
    WHERE value IS NOT NULL AND null_value IS NOT NULL AND ceiling IS NOT NULL
    GROUP BY question, item_group
), intervals AS (
    SELECT m.*, i.ci_low, i.ci_high
    FROM measured AS m
    LEFT JOIN verdict_intervals AS i
        ON i.question = m.question AND i.item_group = m.item_group AND i.n_items = m.n_items
), judged AS (
    SELECT *,
           CASE WHEN ci_low IS NULL THEN 'too few items for an interval'
                WHEN ci_high < 0.25 THEN 'near chance'
                WHEN ci_low > 0.75 THEN 'near the ceiling'
                WHEN ci_low > 0 THEN 'above chance, short of the ceiling'
                ELSE 'not distinguishable from chance' END AS judgement,
           -- rounded, then + 0.0: a value that rounds to zero reads 0.00, not -0.00
           CASE WHEN ci_low IS NULL THEN format('{:.2f} (no interval)', round(effect_size, 2) + 0.0)
                ELSE format('{:.2f} (95 % CI {:.2f} to {:.2f})', round(effect_size, 2) + 0.0,
                            round(ci_low, 2) + 0.0, round(ci_high, 2) + 0.0) END AS effect_text
    FROM intervals
)
SELECT q.question, q.instrument, m.measured, m.null_value, m.ceiling,
       m.effect_size, m.ci_low, m.ci_high, m.n_items, q.items,
       CASE
           WHEN m.n_items IS NULL THEN format('Not measured in this database: {} measures it.', q.command)
           WHEN m.effect_size IS NULL THEN format('Measured {:.3f} against {:.3f} by chance over {} {}, but the ceiling ({:.3f}) is not above chance, so there is no effect size.',
                                                  m.measured, m.null_value, m.n_items, q.items, m.ceiling)
           WHEN q.question = 'data vs algorithm vs seed' THEN format(
               'Changing only the algorithm keeps {} of the way from chance to two seeds'' agreement ({} pairs), changing only the corpus {} ({} pairs): {}.',
               m.effect_text, m.n_items, coalesce(c.effect_text, 'unmeasured'), coalesce(c.n_items, 0),
               CASE WHEN c.ci_high < m.ci_low THEN 'the data move models further apart than the algorithm'
                    WHEN m.ci_high < c.ci_low THEN 'the algorithm moves models further apart than the data'
                    WHEN c.n_items IS NULL THEN 'no corpus contrast to set it against'
                    ELSE 'the intervals overlap, so neither factor is shown to matter more' END)
           ELSE format('{:.3f} against {:.3f} by chance and {:.3f} at the ceiling: {} of the way from chance to the ceiling over {} {}, {}.',
                       m.measured, m.null_value, m.ceiling, m.effect_text, m.n_items, q.items, m.judgement)
       END AS reading,
       q.section
FROM questions AS q
LEFT JOIN judged AS m ON m.question = q.question AND m.item_group IN ('main', 'algorithm')
LEFT JOIN judged AS c ON c.question = q.question AND c.item_group = 'corpus'
ORDER BY q.position
