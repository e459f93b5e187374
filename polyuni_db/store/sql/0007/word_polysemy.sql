-- Do words with more WordNet senses use more atoms? Per encoded word that WordNet knows: its
-- nonzero atoms, its effective number of atoms (participation ratio of its squared coefficients,
-- (sum c^2)^2 / sum c^4: 1 when one atom carries the word), and its WordNet sense count.
CREATE OR REPLACE VIEW word_polysemy AS
SELECT s.feature_set_id, s.label, w.word, count(*) AS n_atoms,
       sum(w.coefficient * w.coefficient) ^ 2 / sum((w.coefficient * w.coefficient) ^ 2) AS effective_atoms,
       any_value(n.n_senses) AS n_senses, any_value(n.supersense) AS supersense
FROM word_features AS w
JOIN feature_set_summary AS s USING (feature_set_id)
JOIN wordnet_senses AS n USING (word)
GROUP BY s.feature_set_id, s.label, w.word
