-- How polysemantic is each original dimension? The participation ratio of the atoms' squared
-- loadings on it, (sum w)^2 / sum w^2 with w = loading^2: about how many atoms (features) the
-- dimension mixes. 1 when a single atom loads on it; the number of atoms when all load equally.
CREATE OR REPLACE VIEW dimension_polysemanticity AS
SELECT s.feature_set_id, s.label, s.atoms, s.seed, l.dimension,
       sum(l.loading * l.loading) ^ 2 / sum((l.loading * l.loading) ^ 2) AS participation_ratio
FROM atom_loadings AS l
JOIN feature_set_summary AS s USING (feature_set_id)
GROUP BY s.feature_set_id, s.label, s.atoms, s.seed, l.dimension
