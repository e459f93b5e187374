-- Are atoms coherent topics, and do they reproduce? Per atom: the share of independent fits in which
-- it reappears (reproducibility; reproducible above one half) and its mean best |cosine| there, its
-- top words (largest projection x·atom among the fitted words), their mean pairwise cosine
-- (coherence) and the largest share of them with one WordNet supersense (purity), beside the same
-- scores of random directions read the same way (null_*: mean and sd). The set-level scores in
-- feature_set_scores are over reproducible atoms only.
CREATE OR REPLACE VIEW atom_quality AS
SELECT s.feature_set_id, s.label, s.method, s.seed, a.atom, a.n_words,
       a.reproducibility, a.reappear_cosine, coalesce(a.reproducibility > 0.5, true) AS reproducible,
       (SELECT list(f.word ORDER BY f.rank) FROM features AS f
        WHERE f.feature_set_id = a.feature_set_id AND f.atom = a.atom) AS top_words,
       a.coherence, c.null_mean AS null_coherence_mean, c.null_sd AS null_coherence_sd,
       a.supersense_purity, a.supersense, a.n_wordnet_words,
       p.null_mean AS null_purity_mean, p.null_sd AS null_purity_sd
FROM atom_scores AS a
JOIN feature_set_summary AS s USING (feature_set_id)
LEFT JOIN feature_set_scores AS c ON c.feature_set_id = a.feature_set_id AND c.metric = 'random_atom_coherence'
LEFT JOIN feature_set_scores AS p ON p.feature_set_id = a.feature_set_id AND p.metric = 'random_atom_purity'
