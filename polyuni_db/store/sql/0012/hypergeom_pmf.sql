-- P(X = x) for X ~ Hypergeom(population, successes, draws), through log-gamma: the term that
-- overlap_at sums into its p-value (scipy.stats.hypergeom.pmf, to floating point).
CREATE OR REPLACE MACRO hypergeom_pmf(x, population, successes, draws) AS exp(
    lgamma(successes + 1) - lgamma(x + 1) - lgamma(successes - x + 1)
    + lgamma(population - successes + 1) - lgamma(draws - x + 1)
    - lgamma(population - successes - draws + x + 1)
    - lgamma(population + 1) + lgamma(draws + 1) + lgamma(population - draws + 1)
)
