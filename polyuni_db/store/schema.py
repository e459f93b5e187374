"""The findings database as SQLAlchemy models. Alembic migrations create and upgrade it; a test
checks that these models and the newest migration describe the same schema."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Double, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One ingested model: source, corpus, dimension, seed and parameters, and how it went."""

    __tablename__ = "runs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String, unique=True)
    fingerprint: Mapped[str] = mapped_column(String, unique=True)
    status: Mapped[str] = mapped_column(String)  # 'writing' inside the write, 'complete' after
    source: Mapped[str] = mapped_column(String)  # 'pretrained' | 'file' | 'train'
    model_name: Mapped[str] = mapped_column(String)  # gensim-data name, file name, or the algorithm trained here (word2vec-sg, fasttext, ...)
    corpus: Mapped[str | None] = mapped_column(String)
    dim: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    top_k: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict] = mapped_column(JSON)  # everything the fingerprint is made of
    vocab_size: Mapped[int] = mapped_column(Integer)
    n_untrained: Mapped[int | None] = mapped_column(Integer)  # null for pretrained vectors
    n_unrankable: Mapped[int] = mapped_column(Integer)  # zero or non-finite vectors, not ranked
    mean_norm: Mapped[float] = mapped_column(Double)
    load_seconds: Mapped[float] = mapped_column(Double)  # loading or training
    analysis_seconds: Mapped[float] = mapped_column(Double)
    mlflow_run_id: Mapped[str | None] = mapped_column(String)
    mlflow_status: Mapped[str] = mapped_column(String)  # 'pending' | 'logged' | 'failed' | 'skipped'
    created_at: Mapped[datetime] = mapped_column(DateTime)
    vectors_path: Mapped[str | None] = mapped_column(String)  # .npy of the vectors, rows in word_stats rank order


class DimensionWord(Base):
    """The words most cosine-similar to +e_d (pole 'max') or -e_d (pole 'min')."""

    __tablename__ = "dimension_words"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based column
    pole: Mapped[str] = mapped_column(String, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 = most similar
    word: Mapped[str] = mapped_column(String)
    similarity: Mapped[float] = mapped_column(Float)


class DifferencePair(Base):
    """Every word pair asked for, and whether its neighbours could be computed."""

    __tablename__ = "difference_pairs"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word_a: Mapped[str] = mapped_column(String, primary_key=True)
    word_b: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(String)  # 'computed' | 'missing words' | 'zero difference' | 'zero or non-finite vector'
    missing_words: Mapped[str | None] = mapped_column(String)  # comma-separated


class DifferenceNeighbour(Base):
    """The words nearest to v_a - v_b (input words not excluded)."""

    __tablename__ = "difference_neighbours"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word_a: Mapped[str] = mapped_column(String, primary_key=True)
    word_b: Mapped[str] = mapped_column(String, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String)
    similarity: Mapped[float] = mapped_column(Float)


class WordStat(Base):
    """Every word of every run: frequency, vector norm, and whether training moved its vector."""

    __tablename__ = "word_stats"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)  # 1-based position in the model's vocabulary
    count: Mapped[int | None] = mapped_column(Integer)  # corpus count; null for pretrained
    norm: Mapped[float] = mapped_column(Float)
    trained: Mapped[bool | None] = mapped_column(Boolean)  # training changed the vector; null for pretrained
    moved: Mapped[float | None] = mapped_column(Double)  # |v - v0| / |v0|; null for pretrained


class WordVector(Base):
    """Every coordinate of every word of a small model (at most 1,000 words)."""

    __tablename__ = "word_vectors"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String, primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class PairGeometry(Base):
    """Cosine and angle of every pair of words of a small model (word_a before word_b in the vocabulary)."""

    __tablename__ = "pair_geometry"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word_a: Mapped[str] = mapped_column(String, primary_key=True)
    word_b: Mapped[str] = mapped_column(String, primary_key=True)
    cosine: Mapped[float | None] = mapped_column(Double)
    angle_degrees: Mapped[float | None] = mapped_column(Double)
    initial_cosine: Mapped[float | None] = mapped_column(Double)  # before training; null unless trained here


class WordSuperposition(Base):
    """Elhage et al.'s feature dimensionality of every word, and its largest interference (small
    models, or a run's N most frequent words when asked)."""

    __tablename__ = "word_superposition"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String, primary_key=True)
    dimensionality: Mapped[float | None] = mapped_column(Double)  # |W_i|^2 / sum_j (unit W_i . W_j)^2
    dimensionality_unit: Mapped[float | None] = mapped_column(Double)  # the same on unit vectors
    max_interference: Mapped[float | None] = mapped_column(Double)  # largest |cosine| to another word


class DimensionWordFiltered(Base):
    """Dimension words among trained words counted at least min_count times: a variant beside the
    original rows, which stay as they are."""

    __tablename__ = "dimension_words_filtered"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_count: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer, primary_key=True)
    pole: Mapped[str] = mapped_column(String, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String)
    similarity: Mapped[float] = mapped_column(Float)


class Similarity(Base):
    """A comparison of two runs by one metric, against its null distribution."""

    __tablename__ = "similarity"

    run_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_b: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[float] = mapped_column(Double)
    null_mean: Mapped[float | None] = mapped_column(Double)
    null_sd: Mapped[float | None] = mapped_column(Double)
    calibrated: Mapped[float | None] = mapped_column(Double)  # (value - null_mean) / null_sd
    p_value: Mapped[float | None] = mapped_column(Double)  # (1 + #null >= value) / (1 + R)
    n_words: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Pseudoword(Base):
    """A token planted in the run's corpus in place of every occurrence of two words (see
    sources.pseudowords), with the words' counts in the original corpus."""

    __tablename__ = "pseudowords"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String, primary_key=True)  # 'a+b'
    word_a: Mapped[str] = mapped_column(String)
    word_b: Mapped[str] = mapped_column(String)
    count_a: Mapped[int] = mapped_column(Integer)
    count_b: Mapped[int] = mapped_column(Integer)


class PseudowordAlignment(Base):
    """How a run with pseudowords was aligned to its reference (orthogonal Procrustes over shared
    words), and Spearman's rho of beta against lg r over its pseudowords."""

    __tablename__ = "pseudoword_alignment"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reference_run_id: Mapped[int] = mapped_column(Integer)  # the same configuration without the transform
    n_aligned: Mapped[int] = mapped_column(Integer)  # shared words counted 5+ times in both runs
    alignment_cosine: Mapped[float] = mapped_column(Double)  # their mean cosine after the rotation
    beta_spearman_rho: Mapped[float | None] = mapped_column(Double)  # null with fewer than 3 pseudowords
    beta_spearman_p: Mapped[float | None] = mapped_column(Double)
    null_seed: Mapped[int] = mapped_column(Integer)  # seed of the random null pairs
    created_at: Mapped[datetime] = mapped_column(DateTime)


class PseudowordFit(Base):
    """v_ab (aligned) regressed on [v_a, v_b] of the reference, and on two random other words."""

    __tablename__ = "pseudoword_fits"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String, primary_key=True)
    span_cosine: Mapped[float] = mapped_column(Double)  # cosine of v_ab with its projection on the span
    alpha: Mapped[float] = mapped_column(Double)  # coefficient of the more frequent word
    beta: Mapped[float] = mapped_column(Double)  # coefficient of the rarer word
    null_word_a: Mapped[str] = mapped_column(String)  # the null pair: random words not merged
    null_word_b: Mapped[str] = mapped_column(String)
    null_span_cosine: Mapped[float] = mapped_column(Double)
    null_alpha: Mapped[float] = mapped_column(Double)
    null_beta: Mapped[float] = mapped_column(Double)


class PseudowordInstrument(Base):
    """Whether an instrument brings back both senses of a pseudoword: how many of each word's 10
    reference neighbours it finds (for features: of its atoms), and the same for the null pair."""

    __tablename__ = "pseudoword_instruments"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String, primary_key=True)
    # 'difference_neighbours' | 'dimension_words' | 'feature_atoms' (hits: the pseudoword's atoms
    # matching an atom of word a or b, once both runs have feature sets)
    instrument: Mapped[str] = mapped_column(String, primary_key=True)
    hits_a: Mapped[int] = mapped_column(Integer)
    hits_b: Mapped[int] = mapped_column(Integer)
    recovered: Mapped[bool] = mapped_column(Boolean)  # both senses found (hits_a > 0 and hits_b > 0)
    null_hits_a: Mapped[int] = mapped_column(Integer)
    null_hits_b: Mapped[int] = mapped_column(Integer)
    null_recovered: Mapped[bool] = mapped_column(Boolean)


# Rows measured against a reference run: deleted with the run, and with its reference.
PSEUDOWORD_MEASURES = tuple(model.__tablename__ for model in (PseudowordFit, PseudowordInstrument, PseudowordAlignment))

# The tables that hold a run's findings, in the order they are written.
FINDINGS_TABLES = tuple(
    model.__tablename__
    for model in (DimensionWord, DifferencePair, DifferenceNeighbour, WordStat, WordVector, PairGeometry,
                  DimensionWordFiltered, WordSuperposition, Pseudoword)
) + PSEUDOWORD_MEASURES


class UnavailableSource(Base):
    """A run a study asked for that could not be had (e.g. Google News offline): said, not dropped."""

    __tablename__ = "unavailable_sources"

    label: Mapped[str] = mapped_column(String, primary_key=True)
    requested: Mapped[str] = mapped_column(String)  # what was asked for, e.g. 'pretrained word2vec-google-news-300'
    reason: Mapped[str] = mapped_column(String)
    attempted_at: Mapped[datetime] = mapped_column(DateTime)


class MlflowExperiment(Base):
    """The MLflow experiment the database logs to when none is chosen: the one it logged to last
    (one row). Revision 0009 records 'polyuni-db', where every database logged before, for a
    database with logged runs; experiment_id is checked against the tracking store before use."""

    __tablename__ = "mlflow_experiment"

    experiment_name: Mapped[str] = mapped_column(String, primary_key=True)
    experiment_id: Mapped[str | None] = mapped_column(String)  # null until logged to since revision 0009
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class Study(Base):
    """One `polyuni study` or `polyuni sweep` that finished: its settings, how it was run, and its
    MLflow parent run, whose children are the runs it computed."""

    __tablename__ = "studies"

    study_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String)  # 'study' | 'sweep'
    name: Mapped[str] = mapped_column(String)  # the preset, or the sweep file's name
    settings: Mapped[dict] = mapped_column(JSON)  # the preset's settings, or the sweep file's text
    command: Mapped[str] = mapped_column(String)  # the command line
    executor: Mapped[str] = mapped_column(String)
    versions: Mapped[dict] = mapped_column(JSON)  # polyuni-db, gensim, mlflow
    started_at: Mapped[datetime] = mapped_column(DateTime)
    wall_seconds: Mapped[float] = mapped_column(Double)
    mlflow_run_id: Mapped[str | None] = mapped_column(String)  # the parent run
    mlflow_status: Mapped[str] = mapped_column(String)  # 'pending' | 'logged' | 'failed' | 'skipped'


class StudyRun(Base):
    """The runs of a study: computed by it (its MLflow children), or stored before and reused."""

    __tablename__ = "study_runs"

    study_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reused: Mapped[bool] = mapped_column(Boolean)  # stored before: tagged in MLflow, not logged again


class FeatureSet(Base):
    """A dictionary of atoms learnt on one run's words, with every word's sparse codes: 'ica', the
    independent components of several fits from independent starts, each atom scored by how often
    it reappears; 'omp', an overcomplete dictionary fitted once (Arora et al. 2018)."""

    __tablename__ = "feature_sets"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String, unique=True)
    status: Mapped[str] = mapped_column(String)  # 'writing' inside the write, 'complete' after
    atoms: Mapped[int] = mapped_column(Integer)
    nonzero: Mapped[int] = mapped_column(Integer)  # atoms per word (OMP)
    words: Mapped[int] = mapped_column(Integer)  # most frequent trained words asked for the fit
    seed: Mapped[int] = mapped_column(Integer)
    # added by revision 0010, which DuckDB can add only as nullable columns (with defaults: 'omp', 1)
    method: Mapped[str | None] = mapped_column(String)  # 'ica' | 'omp'
    fits: Mapped[int | None] = mapped_column(Integer)  # independent fits the atoms are scored against
    n_fit: Mapped[int] = mapped_column(Integer)  # words the dictionary was fitted on
    n_encoded: Mapped[int] = mapped_column(Integer)  # words encoded (every word with a direction)
    explained_variance: Mapped[float] = mapped_column(Double)  # R² of the unit vectors' reconstruction
    dead_atoms: Mapped[int] = mapped_column(Integer)  # atoms no encoded word uses
    dictionary_path: Mapped[str] = mapped_column(String)  # .npy of the atoms (atoms x dim)
    parameters: Mapped[dict] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Feature(Base):
    """Each atom's top words among the fitted words, ranked by ``activation``: since revision 0010 the
    projection x·atom (unit x), before it (method 'omp' sets stored then) the largest code. A column
    is never renamed here: databases of every revision upgrade with their rows."""

    __tablename__ = "features"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    atom: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String)
    activation: Mapped[float] = mapped_column(Float)


class WordFeature(Base):
    """The nonzero codes of every encoded word."""

    __tablename__ = "word_features"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    word: Mapped[str] = mapped_column(String, primary_key=True)
    atom: Mapped[int] = mapped_column(Integer, primary_key=True)
    coefficient: Mapped[float] = mapped_column(Float)


class AtomLoading(Base):
    """The dictionary: each unit atom's coordinate on each of the run's dimensions."""

    __tablename__ = "atom_loadings"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    atom: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[int] = mapped_column(Integer, primary_key=True)
    loading: Mapped[float] = mapped_column(Float)


class AtomScore(Base):
    """Per atom: how many words use it, coherence and WordNet supersense purity of its top words."""

    __tablename__ = "atom_scores"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    atom: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_words: Mapped[int] = mapped_column(Integer)
    coherence: Mapped[float | None] = mapped_column(Double)
    supersense_purity: Mapped[float | None] = mapped_column(Double)
    supersense: Mapped[str | None] = mapped_column(String)  # the most shared lexname
    n_wordnet_words: Mapped[int] = mapped_column(Integer)
    reproducibility: Mapped[float | None] = mapped_column(Double)  # share of the fits it appears in (NULL: one fit)
    reappear_cosine: Mapped[float | None] = mapped_column(Double)  # mean best |cosine| in the other fits


class FeatureSetScore(Base):
    """A feature set's summary score against its null (random-word atoms, shuffled senses)."""

    __tablename__ = "feature_set_scores"

    feature_set_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[float | None] = mapped_column(Double)
    null_mean: Mapped[float | None] = mapped_column(Double)
    null_sd: Mapped[float | None] = mapped_column(Double)
    calibrated: Mapped[float | None] = mapped_column(Double)
    p_value: Mapped[float | None] = mapped_column(Double)
    p_value_is_bound: Mapped[bool | None] = mapped_column(Boolean)  # no null draw reached the value: p < 1/(R+1)
    n: Mapped[int] = mapped_column(Integer)


class WordnetSense(Base):
    """WordNet 3.0 (NLTK): the sense count and first sense's supersense of each lemma that runs use."""

    __tablename__ = "wordnet_senses"

    word: Mapped[str] = mapped_column(String, primary_key=True)
    n_senses: Mapped[int] = mapped_column(Integer)
    supersense: Mapped[str] = mapped_column(String)


class FeatureMatch(Base):
    """Reproducible atoms of feature set a matched one to one (Hungarian) with those of feature set b."""

    __tablename__ = "feature_matches"

    feature_set_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature_set_b: Mapped[int] = mapped_column(Integer, primary_key=True)
    atom_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    atom_b: Mapped[int] = mapped_column(Integer)
    correlation: Mapped[float] = mapped_column(Double)  # |Pearson r| of the activations over shared words
    best_atom_b: Mapped[int] = mapped_column(Integer)  # atom a's best match, not one to one
    best_correlation: Mapped[float] = mapped_column(Double)
    decoder_cosine: Mapped[float | None] = mapped_column(Double)  # |cosine| of the atoms: same run only
    shared_top_words: Mapped[int] = mapped_column(Integer)


class FeatureMatchScore(Base):
    """Two feature sets matched: the matched correlations against shuffled word correspondences."""

    __tablename__ = "feature_match_scores"

    feature_set_a: Mapped[int] = mapped_column(Integer, primary_key=True)
    feature_set_b: Mapped[int] = mapped_column(Integer, primary_key=True)
    n_words: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[float] = mapped_column(Double)
    mean_matched_correlation: Mapped[float] = mapped_column(Double)
    n_matched_above_threshold: Mapped[int] = mapped_column(Integer)
    null_mean: Mapped[float | None] = mapped_column(Double)
    null_sd: Mapped[float | None] = mapped_column(Double)
    z: Mapped[float | None] = mapped_column(Double)
    p_value: Mapped[float | None] = mapped_column(Double)
    null_above_threshold: Mapped[float | None] = mapped_column(Double)  # mean over the shuffles
    mean_matched_cosine: Mapped[float | None] = mapped_column(Double)  # decoder cosines: same run only
    share_cosine_above_0_9: Mapped[float | None] = mapped_column(Double)
    n_atoms_a: Mapped[int | None] = mapped_column(Integer)  # reproducible atoms of a that were matched
    n_atoms_b: Mapped[int | None] = mapped_column(Integer)
    mean_matched_correlation_all_atoms: Mapped[float | None] = mapped_column(Double)  # every atom, reproducible or not
    top_word_jaccard: Mapped[float | None] = mapped_column(Double)  # mean Jaccard of matched atoms' top words
    shared_initialization: Mapped[bool | None] = mapped_column(Boolean)  # same seed, same fitted words: not evidence
    p_value_is_bound: Mapped[bool | None] = mapped_column(Boolean)
    parameters: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# The tables that hold a feature set's rows, written in one transaction.
FEATURE_SET_TABLES = tuple(
    model.__tablename__ for model in (Feature, WordFeature, AtomLoading, AtomScore, FeatureSetScore)
)


class VerdictInterval(Base):
    """The bootstrap interval of one verdict question's effect size over its items (view verdict_items):
    written when a study or a comparison ends; the view verdict shows it while ``n_items`` still matches."""

    __tablename__ = "verdict_intervals"

    question: Mapped[str] = mapped_column(String, primary_key=True)
    item_group: Mapped[str] = mapped_column(String, primary_key=True)
    n_items: Mapped[int] = mapped_column(Integer)
    effect_size: Mapped[float | None] = mapped_column(Double)
    ci_low: Mapped[float | None] = mapped_column(Double)
    ci_high: Mapped[float | None] = mapped_column(Double)
    confidence: Mapped[float] = mapped_column(Double)
    n_resamples: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String)  # scipy.stats.bootstrap's
    created_at: Mapped[datetime] = mapped_column(DateTime)


# Arrow types of the column types above: what rows handed to the database (and bundles' Parquet
# files) hold, so that a table is checked against its declaration before it is inserted.
ARROW_TYPES = {Integer: "int32", Float: "float32", Double: "float64", String: "string", Boolean: "bool"}


def arrow_schema(table: str, without: tuple[str, ...] = ("run_id",)):
    """The Arrow schema of ``table``'s rows as handed to ``insert_rows`` (names, types, nullability,
    in the table's column order), without the key columns the writer adds."""
    import pyarrow as pa

    return pa.schema([pa.field(column.name, ARROW_TYPES[type(column.type)], nullable=bool(column.nullable))
                      for column in Base.metadata.tables[table].columns if column.name not in without])
