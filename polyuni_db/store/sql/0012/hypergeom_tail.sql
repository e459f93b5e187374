-- P(X >= n) for X ~ Hypergeom(population, successes, draws) (scipy.stats.hypergeom.sf(n - 1, ...)),
-- summed over the shorter side of the distribution. At or below the mean: one minus the few terms
-- under n (the result is then about one half or more, so nothing is lost to rounding). Above it
-- (n > mean >= the support's lower end): the upper tail from n, whose terms fall ever faster
-- (pmf(x + 1) / pmf(x) decreases in x), so it stops once the rest is below 1e-16 of the sum
-- (geometric_terms). Summing every upper-tail term took model_overlap 4.9 s at 1,000 runs
-- (scripts/bench_scale.py).
CREATE OR REPLACE MACRO hypergeom_tail(n, population, successes, draws) AS
CASE WHEN n <= successes * draws / population
    THEN greatest(0.0, 1.0 - coalesce(list_sum(list_transform(
        range(greatest(0, successes + draws - population), n),
        x -> hypergeom_pmf(x, population, successes, draws))), 0.0))
    ELSE least(1.0, list_sum(list_transform(
        range(n, n + geometric_terms(
            (successes - n) * (draws - n) / ((n + 1) * (population - successes - draws + n + 1)),
            least(successes, draws) + 1 - n)),
        x -> hypergeom_pmf(x, population, successes, draws))))
END
