-- How many terms of a decreasing series to sum so that the rest is below 1e-16 of the sum, when each
-- term is at most r times the one before (the rest after m terms is then below r^m / (1 - r) of the
-- first term, hence of the sum); at most ``most``, every term there is when r is not in (0, 1).
CREATE OR REPLACE MACRO geometric_terms(r, most) AS
CASE WHEN r > 0 AND r < 1 THEN least(most, ceil((ln(1e-16) + ln(1 - r)) / ln(r))::BIGINT + 1) ELSE most END
