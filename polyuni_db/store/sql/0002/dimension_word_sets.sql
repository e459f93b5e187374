-- The published study's set: per run, the distinct words among the top 5 'max'-pole dimension
-- words of all its dimensions.
CREATE OR REPLACE VIEW dimension_word_sets AS
SELECT * FROM dimension_word_set_at(5, 'max')
