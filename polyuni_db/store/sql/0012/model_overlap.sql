-- The published table "Model 1 | Model 2 | # Words in Common | Words in Common", with what chance
-- gives beside it: overlap of the top-5 'max'-pole dimension-word sets of every pair of runs.
CREATE OR REPLACE VIEW model_overlap AS
SELECT * FROM overlap_at(5, 'max')
