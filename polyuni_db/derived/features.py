"""Feature sets of stored runs and features matched across runs: reads a run's kept vectors, calls
the kernels of ``analysis.features``, and hands the rows to ``store.features`` (one transaction per
feature set, one per matched pair).

The default method, 'ica', learns a complete basis of independent components several times from
independent starts and keeps each atom's reproducibility; matches and set-level scores are over the
reproducible atoms. 'omp', the overcomplete dictionary fitted once, stays for comparison: two seeds
of it agree at a matched |r| of about 0.16 on GloVe (docs/methods.md, "Features")."""
from __future__ import annotations

import itertools
import math
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import sparse
from threadpoolctl import threadpool_limits

from polyuni_db.analysis import features as kernels
from polyuni_db.analysis.similarity import against_null
from polyuni_db.derived.compare import shared_rows
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.pipeline import fingerprint
from polyuni_db.sources.base import Progress, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.features import (
    feature_set_by_id,
    feature_set_rows,
    read_codes,
    read_reproducible,
    read_top_words,
    stored_feature_set,
    stored_match,
    write_feature_set,
    write_match,
)
from polyuni_db.store.read import StoredRun, load_run
from polyuni_db.store.vectors import keep_vectors, load_vectors

METHODS = ("ica", "omp")
OMP_ATOMS = 1_000  # the overcomplete dictionary's default size
# ica's default: one component a dimension, at most this many (a wider model, e.g. MiniLM's 384
# dimensions, is reduced to its first principal components by FastICA's whitening first)
ICA_MAX_DEFAULT_ATOMS = 100
# atoms a word: ica, three tenths of the atoms (15 of GloVe's 50; 13 left R² of its 400,000 unit
# vectors at 0.798 to 0.801); omp, 5
ICA_NONZERO_SHARE = 0.3
OMP_NONZERO = 5
DEFAULT_WORDS = 20_000  # FastICA on GloVe: 6 fits of 20,000 words take about 30 s of CPU; 50,000 several minutes
TOP_WORDS = 20  # each atom's top words, stored, scored and compared across feature sets
RANDOM_ATOMS = 1_000  # random directions read as atoms are: the null for coherence and purity
SENSE_PERMUTATIONS = 100
DEFAULT_MATCH_WORDS = 50_000
DEFAULT_MATCH_PERMUTATIONS = 20
DEFAULT_THRESHOLD = 0.5
NULL_SEED = 0


def ica_nonzero(atoms: int) -> int:
    return max(1, math.ceil(ICA_NONZERO_SHARE * atoms))


@dataclass(frozen=True)
class FeatureSettings:
    atoms: int | None = None  # None: ica, as many as the run's dimensions (up to 100); omp, OMP_ATOMS
    nonzero: int | None = None  # None: ica, three tenths of the atoms; omp, OMP_NONZERO
    words: int = DEFAULT_WORDS
    method: str = "ica"

    def atoms_for(self, run: StoredRun) -> int:
        if self.atoms is not None:
            return self.atoms
        return min(run.vectors.shape[1], ICA_MAX_DEFAULT_ATOMS) if self.method == "ica" else OMP_ATOMS

    def nonzero_for(self, run: StoredRun) -> int:
        if self.nonzero is not None:
            return self.nonzero
        return ica_nonzero(self.atoms_for(run)) if self.method == "ica" else OMP_NONZERO

    def check(self, run: StoredRun, n_fit: int) -> None:
        """One-line errors for settings that cannot work on this run."""
        dim, atoms, nonzero = run.vectors.shape[1], self.atoms_for(run), self.nonzero_for(run)
        if self.method not in METHODS:
            raise PolyuniError(f"--method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if atoms < 1:
            raise PolyuniError(f"--atoms must be at least 1, not {atoms}")
        if self.method == "ica" and atoms > dim:
            raise PolyuniError(f"--atoms {atoms} is more than {run.label}'s {dim} dimensions: independent "
                               "components are at most as many as the dimensions (--method omp is overcomplete)")
        if not 1 <= nonzero <= dim:
            raise PolyuniError(f"--nonzero must be between 1 and {run.label}'s {dim} dimensions, not {nonzero}")
        if nonzero > atoms:
            raise PolyuniError(f"--nonzero {nonzero} is more than --atoms {atoms}: a word cannot use more atoms "
                               "than the dictionary has")
        if self.words < atoms:
            raise PolyuniError(f"--words {self.words} is fewer than --atoms {atoms}: a dictionary needs more words than atoms")
        if n_fit < atoms:
            raise PolyuniError(f"{run.label} has {n_fit} trained words with a direction: fewer than --atoms {atoms}")

    def spec(self, run: StoredRun, seed: int) -> dict:
        """Everything that determines a feature set's rows: its fingerprint is made of this."""
        common = {"run": run.fingerprint, "atoms": self.atoms_for(run), "nonzero": self.nonzero_for(run), "words": self.words,
                  "seed": seed, "top_words": TOP_WORDS, "top_words_by": "projection", "random_atoms": RANDOM_ATOMS,
                  "random_atoms_are": "random directions", "sense_permutations": SENSE_PERMUTATIONS,
                  "wordnet": "3.0", "null_seed": NULL_SEED}
        if self.method == "ica":
            return {**common, "method": "ica", "algorithm": "FastICA (unit-variance whitening), unit vectors; "
                    "atoms averaged over the fits they reappear in; OMP codes",
                    "fits": kernels.FITS, "reappear_cosine": kernels.REAPPEAR_COSINE,
                    "ica_iterations": kernels.ICA_ITERATIONS}
        return {**common, "method": "omp", "algorithm": "omp codes + least-squares dictionary (MOD), unit vectors",
                "iterations": kernels.FIT_ITERATIONS}


def fit_rows(run: StoredRun) -> np.ndarray:
    """Rows the dictionary may be fitted on, most frequent first: trained words with a direction."""
    usable = run.rankable if run.trained is None else run.rankable & run.trained
    return np.flatnonzero(usable)


@cache
def _wordnet():
    """NLTK's WordNet, from NLTK_DATA when it is there, else downloaded once."""
    import nltk
    from nltk.corpus import wordnet

    try:
        nltk.data.find("corpora/wordnet.zip")
    except LookupError:
        try:
            nltk.download("wordnet", quiet=True, raise_on_error=True)
        except Exception as error:
            raise PolyuniError(f"WordNet is not under NLTK_DATA and could not be downloaded ({error})") from None
    wordnet.ensure_loaded()
    return wordnet, frozenset(wordnet.all_lemma_names())


def wordnet_senses(words: list[str]) -> dict[str, tuple[int, str]]:
    """For every word that is a WordNet lemma as written: its sense count and the supersense
    (lexname) of its first, most frequent, sense."""
    wordnet, lemmas = _wordnet()
    found = {}
    for word in words:
        if word in lemmas:
            synsets = wordnet.synsets(word)
            if synsets:
                found[word] = (len(synsets), synsets[0].lexname())
    return found


def _scores(metric: str, scored, n: int, permutations: int) -> dict:
    """A feature_set_scores row: z NULL where the null does not vary (``against_null``), the p-value
    flagged as a bound when no draw of the null reached the value."""
    return {"metric": metric, **{key: _finite(value) for key, value in scored._asdict().items()},
            "p_value_is_bound": bool(np.isclose(scored.p_value, 1 / (permutations + 1))), "n": n}


@contextmanager
def quiet_numpy():
    """numpy's floating-point and empty-slice warnings silenced: what they flag ends as a NULL."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def fit_atoms(unit_fit: np.ndarray, settings: FeatureSettings, atoms: int, nonzero: int, seed: int, n_jobs: int,
              progress=lambda done, total: None) -> kernels.Atoms:
    """The method's dictionary, with each atom's reproducibility (NaN: fitted once, not scored)."""
    if settings.method == "ica":
        return kernels.fit_reproducible_atoms(unit_fit, atoms, seed, kernels.FITS, progress)
    dictionary = kernels.fit_dictionary(unit_fit, atoms, nonzero, seed, n_jobs=n_jobs, progress=progress)
    return kernels.Atoms(dictionary, np.full(atoms, np.nan), np.full(atoms, np.nan))


def build_feature_set(run: StoredRun, settings: FeatureSettings, seed: int, n_jobs: int = 2,
                      progress: Progress = no_progress) -> tuple[np.ndarray, dict, dict[str, pa.Table], pa.Table]:
    """Fit, encode and score: (dictionary, the feature_sets columns, rows of each table, WordNet rows)."""
    started = time.perf_counter()
    fit = fit_rows(run)[:settings.words]
    encoded = np.flatnonzero(run.rankable)
    vectors = np.asarray(run.vectors)
    unit_fit = kernels.unit_rows(vectors[fit])
    n_atoms, nonzero = settings.atoms_for(run), settings.nonzero_for(run)
    # one BLAS thread: the matrices are narrow (50 columns), and BLAS threads spinning beside the
    # encoder's own threads cost more CPU than they save (FastICA took several times as long)
    with quiet_numpy(), threadpool_limits(limits=1, user_api="blas"):
        fitted = fit_atoms(unit_fit, settings, n_atoms, nonzero, seed, n_jobs, lambda done, total: progress(
            done, total, f"{run.label}: fitting {n_atoms} atoms ({settings.method})"))
        unit = kernels.unit_rows(vectors[encoded])
        codes = kernels.encode(unit, fitted.dictionary, nonzero, n_jobs,
                               progress=lambda done, total: progress(done, total, f"{run.label}: encoding every word"))
        dictionary, codes = kernels.orient(fitted.dictionary, codes)
        row, tables, wordnet_rows = _score_feature_set(run, fitted, dictionary, codes, unit, encoded, fit, seed)
    row.update(atoms=n_atoms, nonzero=nonzero, words=settings.words, seed=seed, method=settings.method,
               fits=kernels.FITS if settings.method == "ica" else 1, seconds=time.perf_counter() - started)
    return dictionary, row, tables, wordnet_rows


def _score_feature_set(run: StoredRun, fitted: kernels.Atoms, dictionary: np.ndarray, codes: sparse.csr_matrix,
                       unit: np.ndarray, encoded: np.ndarray, fit: np.ndarray, seed: int):
    words = np.asarray(run.words, dtype=object)
    encoded_words = words[encoded]
    position = np.full(len(run.words), -1)
    position[encoded] = np.arange(encoded.size)
    fit_positions = position[fit]
    unit_fit = unit[fit_positions]
    keep = kernels.reproducible(fitted.reproducibility)

    # each atom's top words: the fitted (frequent) words it points at
    top_rows, projections = kernels.top_by_projection(unit_fit, dictionary, TOP_WORDS)
    top_rows = fit_positions[top_rows]
    senses = wordnet_senses(encoded_words.tolist())
    lexname = {word: sense[1] for word, sense in senses.items()}
    atom_rows = {"atom": [], "n_words": [], "coherence": [], "supersense_purity": [], "supersense": [],
                 "n_wordnet_words": [], "reproducibility": [], "reappear_cosine": []}
    feature_rows = {"atom": [], "rank": [], "word": [], "activation": []}  # activation: the projection
    usage = codes.getnnz(axis=0)
    for atom, (rows, values) in enumerate(zip(top_rows, projections)):
        names = [lexname.get(word) for word in encoded_words[rows]]
        known = [name for name in names if name]
        atom_rows["atom"].append(atom)
        atom_rows["n_words"].append(int(usage[atom]))
        atom_rows["coherence"].append(kernels.coherence(unit, rows))
        atom_rows["supersense_purity"].append(kernels.supersense_purity(names))
        atom_rows["supersense"].append(max(set(known), key=known.count) if known else None)
        atom_rows["n_wordnet_words"].append(len(known))
        atom_rows["reproducibility"].append(_finite(fitted.reproducibility[atom]))
        atom_rows["reappear_cosine"].append(_finite(fitted.reappear_cosine[atom]))
        feature_rows["atom"] += [atom] * len(rows)
        feature_rows["rank"] += list(range(1, len(rows) + 1))
        feature_rows["word"] += encoded_words[rows].tolist()
        feature_rows["activation"] += values.tolist()

    # nulls: random directions read as atoms are (their top fitted words by projection), over the
    # reproducible atoms; sense counts shuffled across words
    rng = np.random.default_rng([NULL_SEED, seed])
    directions = kernels.unit_rows(rng.standard_normal((RANDOM_ATOMS, dictionary.shape[1])))
    random_rows = fit_positions[kernels.top_by_projection(unit_fit, directions, TOP_WORDS)[0]]
    coherence = np.array(atom_rows["coherence"], dtype=float)[keep]
    purity = np.array(atom_rows["supersense_purity"], dtype=float)[keep]
    random_coherence = np.array([kernels.coherence(unit, rows) for rows in random_rows])
    random_purity = np.array([kernels.supersense_purity([lexname.get(w) for w in encoded_words[rows]])
                              for rows in random_rows])
    scores = [
        _scores("random_atom_coherence", against_null(np.nanmean(coherence), random_coherence),
                int(np.isfinite(coherence).sum()), RANDOM_ATOMS),
        _scores("random_atom_purity", against_null(np.nanmean(purity), random_purity[np.isfinite(random_purity)]),
                int(np.isfinite(purity).sum()), int(np.isfinite(random_purity).sum())),
    ]
    # WordNet polysemy on the reproducible atoms: do words with more senses spread over more of them?
    in_wordnet = np.array([word in senses for word in encoded_words])
    effective = kernels.effective_atoms(codes[:, np.flatnonzero(keep)])
    usable = in_wordnet & np.isfinite(effective)
    n_senses = np.array([senses[word][0] for word in encoded_words[usable]], dtype=float)
    if usable.sum() >= 3:
        rho, null = kernels.spearman_with_null(effective[usable], n_senses, SENSE_PERMUTATIONS, seed)
        scores.append(_scores("senses_spearman", against_null(rho, null), int(usable.sum()), SENSE_PERMUTATIONS))

    coo = codes.tocoo()
    n_atoms, dim = dictionary.shape
    tables = {
        "features": pa.table({**feature_rows, "activation": pa.array(feature_rows["activation"], pa.float32()),
                              "atom": pa.array(feature_rows["atom"], pa.int32()),
                              "rank": pa.array(feature_rows["rank"], pa.int32())}),
        "word_features": pa.table({"word": pa.array(encoded_words[coo.row]), "atom": coo.col.astype(np.int32),
                                   "coefficient": coo.data.astype(np.float32)}),
        "atom_loadings": pa.table({"atom": np.repeat(np.arange(n_atoms, dtype=np.int32), dim),
                                   "dimension": np.tile(np.arange(dim, dtype=np.int32), n_atoms),
                                   "loading": dictionary.ravel().astype(np.float32)}),
        "atom_scores": pa.table({**atom_rows, "reproducibility": pa.array(atom_rows["reproducibility"], pa.float64()),
                                 "reappear_cosine": pa.array(atom_rows["reappear_cosine"], pa.float64())}),
        "feature_set_scores": pa.Table.from_pylist(scores),
    }
    wordnet_rows = pa.table({"word": list(senses), "n_senses": pa.array([s[0] for s in senses.values()], pa.int32()),
                             "supersense": [s[1] for s in senses.values()]})
    row = {"n_fit": int(fit.size), "n_encoded": int(encoded.size),
           "explained_variance": kernels.explained_variance(unit, codes, dictionary),
           "dead_atoms": kernels.dead_atoms(codes)}
    return row, tables, wordnet_rows


@dataclass(frozen=True)
class FeatureOutcome:
    label: str
    seed: int
    feature_set_id: int
    action: str  # 'computed' | 'replaced' | 'skipped' | 'stored meanwhile' (by another process)
    row: dict | None = None
    replaced: tuple[int, ...] = ()  # the feature sets it replaced (--force)
    rematched: tuple[str, ...] = ()  # the matches they took part in, recomputed: 'a@1 ~ b@3'


def compute_features(db_path: Path, labels: list[str], settings: FeatureSettings = FeatureSettings(),
                     seeds: list[int] = (1,), force: bool = False, n_jobs: int = 2,
                     progress: Progress = no_progress, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                     on_outcome=lambda outcome: None) -> list[FeatureOutcome]:
    """A feature set per (run, seed); stored ones are skipped unless ``force``, which replaces them
    and recomputes the matches they took part in. Two or more seeds of a run are then matched with
    each other: the run's stability, the ceiling of any cross-run match."""
    from polyuni_db.sources.training import check_seed

    for seed in seeds:
        check_seed(seed)
    runs = [load_run(db_path, label, lock_timeout) for label in dict.fromkeys(labels)]
    for run in runs:  # every input checked before any work
        settings.check(run, fit_rows(run).size)
    outcomes = []
    for run in runs:
        ids = {}
        for seed in dict.fromkeys(seeds):
            outcome = _feature_set_of_seed(db_path, run, settings, seed, force, n_jobs, progress, lock_timeout)
            on_outcome(outcome)
            outcomes.append(outcome)
            ids[seed] = outcome.feature_set_id
        for seed_a, seed_b in itertools.combinations(sorted(ids), 2):
            match_feature_sets(db_path, run, run, ids[seed_a], ids[seed_b], force=force, lock_timeout=lock_timeout)
    return outcomes


def _feature_set_of_seed(db_path: Path, run: StoredRun, settings: FeatureSettings, seed: int, force: bool, n_jobs: int,
                         progress: Progress, lock_timeout: float) -> FeatureOutcome:
    spec = settings.spec(run, seed)
    set_fingerprint = fingerprint(spec)
    stored = stored_feature_set(db_path, set_fingerprint, lock_timeout)
    if stored is not None and not force:
        return FeatureOutcome(run.label, seed, stored, "skipped")
    dictionary, row, tables, senses = build_feature_set(run, settings, seed, n_jobs, progress)
    path, created = keep_vectors(db_path, set_fingerprint, dictionary)
    row.update(run_id=run.run_id, fingerprint=set_fingerprint, parameters=spec, dictionary_path=path,
               created_at=datetime.now(timezone.utc).replace(tzinfo=None))
    try:
        written = write_feature_set(db_path, row, tables, senses, replace=force, lock_timeout=lock_timeout)
    except BaseException:  # interrupted or refused: the new dictionary file goes with the feature set
        if created:
            (db_path.resolve().parent / path).unlink(missing_ok=True)
        raise
    if written.stored_meanwhile:
        return FeatureOutcome(run.label, seed, written.feature_set_id, "stored meanwhile")
    rematched = tuple(_rematch(db_path, written.feature_set_id, written.replaced, match, lock_timeout)
                      for match in written.removed_matches
                      if not (set(written.replaced) >= {match["feature_set_a"], match["feature_set_b"]}))
    return FeatureOutcome(run.label, seed, written.feature_set_id, "replaced" if written.replaced else "computed",
                          row, tuple(written.replaced), rematched)


def _rematch(db_path: Path, new_id: int, replaced: list[int], removed: dict, lock_timeout: float) -> str:
    """Recompute a match that a replaced feature set took part in, with its stored parameters."""
    set_a, set_b = (new_id if removed[side] in replaced else removed[side] for side in ("feature_set_a", "feature_set_b"))
    found = [feature_set_by_id(db_path, feature_set_id, lock_timeout) for feature_set_id in (set_a, set_b)]
    if any(f is None for f in found):  # the other side is gone too: nothing to recompute
        return f"feature sets {set_a} ~ {set_b} (one is gone: not recomputed)"
    runs = [load_run(db_path, _label_of(db_path, f["run_id"], lock_timeout), lock_timeout) for f in found]
    parameters = removed["parameters"] or {}
    match_feature_sets(db_path, runs[0], runs[1], set_a, set_b, parameters.get("words_requested", DEFAULT_MATCH_WORDS),
                       parameters.get("permutations", DEFAULT_MATCH_PERMUTATIONS),
                       parameters.get("threshold", DEFAULT_THRESHOLD), parameters.get("seed", NULL_SEED),
                       force=True, lock_timeout=lock_timeout)
    return f"{runs[0].label}@{found[0]['seed']} ~ {runs[1].label}@{found[1]['seed']}"


def _label_of(db_path: Path, run_id: int, lock_timeout: float) -> str:
    from polyuni_db.store.db import connect

    connection = connect(db_path, read_only=True, lock_timeout=lock_timeout)
    try:
        return connection.execute("SELECT label FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]
    finally:
        connection.close()


def _codes(db_path: Path, run: StoredRun, feature_set_id: int, atoms: int, lock_timeout: float) -> sparse.csr_matrix:
    """A feature set's codes as a (run's words x atoms) sparse matrix, rows in vocabulary order."""
    table = read_codes(db_path, feature_set_id, lock_timeout)
    index = run.index
    rows = np.fromiter((index[word] for word in table.column("word").to_pylist()), dtype=np.int64, count=table.num_rows)
    return sparse.csr_matrix((table.column("coefficient").to_numpy().astype(np.float64),
                              (rows, table.column("atom").to_numpy())), shape=(len(run.words), atoms))


def find_feature_set(db_path: Path, run: StoredRun, settings: FeatureSettings, seed: int,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict | None:
    """A run's complete feature set of these settings and seed, as a dict of its columns, or None."""
    return feature_set_rows(db_path, run.run_id, settings.method, settings.atoms_for(run),
                            settings.nonzero_for(run), settings.words, seed, lock_timeout)


def _feature_set(db_path: Path, run: StoredRun, settings: FeatureSettings, seed: int, lock_timeout: float) -> dict:
    found = find_feature_set(db_path, run, settings, seed, lock_timeout)
    if found is None:
        raise PolyuniError(f"{run.label} has no {settings.method} feature set with {settings.atoms_for(run)} atoms, "
                           f"{settings.nonzero_for(run)} nonzero, {settings.words} words, seed {seed}: run "
                           f"`polyuni features {run.label} --seeds {seed}` first")
    return found


def feature_dictionary(db_path: Path, label: str, seed: int = 1, settings: FeatureSettings = FeatureSettings(),
                       lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[np.ndarray, int]:
    """A stored feature set's dictionary (atoms x dim) and its nonzero count: with
    ``analysis.features.atoms_used`` it says which atoms any vector of that run's space uses."""
    found = _feature_set(db_path, load_run(db_path, label, lock_timeout), settings, seed, lock_timeout)
    return np.asarray(load_vectors(db_path, found["dictionary_path"], label)), found["nonzero"]


def shared_initialization(run_a: StoredRun, run_b: StoredRun, a: dict, b: dict) -> bool:
    """Both feature sets started from the same random state on the same words (e.g. a run and its
    rotation with one seed): for the overcomplete dictionary the rotation's start is then the run's,
    rotated, and the two agree by construction (1.000 on GloVe); never evidence, whatever the method."""
    if a["seed"] != b["seed"] or a["method"] != b["method"] or a["n_fit"] != b["n_fit"]:
        return False
    words_a, words_b = (np.asarray(run.words, dtype=object)[fit_rows(run)[:found["words"]]]
                        for run, found in ((run_a, a), (run_b, b)))
    return bool(np.array_equal(words_a, words_b))


def match_feature_sets(db_path: Path, run_a: StoredRun, run_b: StoredRun, set_a: int, set_b: int,
                       n_words: int = DEFAULT_MATCH_WORDS, permutations: int = DEFAULT_MATCH_PERMUTATIONS,
                       threshold: float = DEFAULT_THRESHOLD, seed: int = NULL_SEED, force: bool = False,
                       lock_timeout: float = DEFAULT_LOCK_TIMEOUT, codes: dict | None = None) -> tuple[dict, str]:
    """Match the reproducible atoms of two stored feature sets, each side's against every atom of the
    other (``kernels.match_both_ways``), over the runs' ``n_words`` most frequent shared words, against ``permutations`` shuffled word correspondences; same run (two
    seeds): decoder cosines too. A match stored with the same parameters is kept unless ``force``.
    Returns (the feature_match_scores row, 'computed' | 'replaced' | 'skipped' | 'no reproducible atoms').
    ``codes``: a cache of feature sets' codes, filled here, for matching one set with many."""
    parameters = {"words_requested": n_words, "permutations": permutations, "threshold": threshold, "seed": seed,
                  "matching": "both ways"}  # matches of the subsets' intersection (before) are recomputed
    stored = stored_match(db_path, set_a, set_b, lock_timeout)
    if stored is not None and not force and {key: stored.get(key) for key in parameters} == parameters:
        return {"feature_set_a": set_a, "feature_set_b": set_b, "parameters": stored}, "skipped"
    codes = {} if codes is None else codes
    a, b = feature_set_by_id(db_path, set_a, lock_timeout), feature_set_by_id(db_path, set_b, lock_timeout)
    rows_a, rows_b = shared_rows(run_a, run_b, n_words)
    if rows_a.size < max(a["atoms"], b["atoms"]):
        raise PolyuniError(f"{run_a.label} and {run_b.label} share {rows_a.size} words: fewer than the "
                           f"{max(a['atoms'], b['atoms'])} atoms to match")
    for run, found in ((run_a, a), (run_b, b)):
        if found["feature_set_id"] not in codes:
            codes[found["feature_set_id"]] = _codes(db_path, run, found["feature_set_id"], found["atoms"], lock_timeout)
    keep_a, keep_b = (np.array(read_reproducible(db_path, s, lock_timeout), dtype=np.int64) for s in (set_a, set_b))
    if not keep_a.size or not keep_b.size:  # nothing reproducible to match: no score, rather than a made-up one
        return {"feature_set_a": set_a, "feature_set_b": set_b, "n_atoms_a": int(keep_a.size),
                "n_atoms_b": int(keep_b.size)}, "no reproducible atoms"
    codes_a, codes_b = codes[set_a][rows_a], codes[set_b][rows_b]
    similarity = kernels.activation_correlation(codes_a, codes_b)
    every_atom = kernels.match(similarity).values.mean()
    # each side's reproducible atoms against every atom of the other side (match_both_ways)
    from_a, from_b = kernels.match_both_ways(similarity, keep_a, keep_b)
    value, above = kernels.both_ways_score(similarity, keep_a, keep_b, threshold)
    atoms_a, atoms_b = keep_a[from_a.atoms_a], from_a.atoms_b
    with quiet_numpy():
        null_means, null_above = kernels.shuffled_matching_null(codes_a, codes_b, permutations, seed, threshold,
                                                                keep_a, keep_b)
    scored = against_null(value, null_means)
    cosine = share = None
    pair_cosines = [None] * atoms_a.size
    if run_a.run_id == run_b.run_id:
        cosines = kernels.decoder_cosines(load_vectors(db_path, a["dictionary_path"], run_a.label),
                                          load_vectors(db_path, b["dictionary_path"], run_b.label))
        by_cosine = kernels.match_both_ways(cosines, keep_a, keep_b)
        cosine = float((by_cosine[0].values.mean() + by_cosine[1].values.mean()) / 2)
        share = float(np.mean(np.concatenate([by_cosine[0].values, by_cosine[1].values]) > 0.9))
        pair_cosines = np.abs(cosines[atoms_a, atoms_b]).tolist()
    top_a, top_b = read_top_words(db_path, set_a, lock_timeout), read_top_words(db_path, set_b, lock_timeout)
    words_a = [top_a.get(atom, set()) for atom in range(a["atoms"])]
    words_b = [top_b.get(atom, set()) for atom in range(b["atoms"])]
    jaccard = (kernels.top_word_jaccard(words_a, words_b, atoms_a, atoms_b)
               + kernels.top_word_jaccard(words_b, words_a, keep_b[from_b.atoms_a], from_b.atoms_b)) / 2
    matches = [{"feature_set_a": set_a, "feature_set_b": set_b, "atom_a": int(atom_a), "atom_b": int(atom_b),
                "correlation": float(value), "best_atom_b": int(from_a.best_b[position]),
                "best_correlation": float(from_a.best_values[position]), "decoder_cosine": pair_cosine,
                "shared_top_words": len(top_a.get(int(atom_a), set()) & top_b.get(int(atom_b), set()))}
               for position, atom_a, atom_b, value, pair_cosine in zip(from_a.atoms_a, atoms_a, atoms_b,
                                                                        from_a.values, pair_cosines)]
    score = {"feature_set_a": set_a, "feature_set_b": set_b, "n_words": int(rows_a.size), "threshold": threshold,
             "mean_matched_correlation": scored.value, "n_matched_above_threshold": int(round(above)),
             "null_mean": scored.null_mean, "null_sd": _finite(scored.null_sd), "z": _finite(scored.calibrated),
             "p_value": scored.p_value, "p_value_is_bound": bool(np.isclose(scored.p_value, 1 / (permutations + 1))),
             "null_above_threshold": float(null_above.mean()), "mean_matched_cosine": cosine,
             "share_cosine_above_0_9": share, "n_atoms_a": int(keep_a.size), "n_atoms_b": int(keep_b.size),
             "mean_matched_correlation_all_atoms": float(every_atom), "top_word_jaccard": _finite(jaccard),
             "shared_initialization": shared_initialization(run_a, run_b, a, b),
             "parameters": parameters,
             "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}
    write_match(db_path, score, matches, lock_timeout)
    return score, "computed" if stored is None else "replaced"


def match_features(db_path: Path, sets: list[tuple[str, int]], settings: FeatureSettings = FeatureSettings(),
                   n_words: int = DEFAULT_MATCH_WORDS, permutations: int = DEFAULT_MATCH_PERMUTATIONS,
                   threshold: float = DEFAULT_THRESHOLD, force: bool = False, progress: Progress = no_progress,
                   lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[tuple[str, str, dict, str]]:
    """Every pair of the given feature sets ((label, dictionary seed), in the order given, repeats
    dropped): ('label@seed', 'label@seed', score, action). Pairs matched before with the same
    parameters are skipped unless ``force``."""
    sets = list(dict.fromkeys(sets))
    if len(sets) < 2:
        raise PolyuniError("match-features needs at least two different feature sets (LABEL or LABEL@SEED)")
    if not 0 <= threshold < 1 or permutations < 1 or n_words < 1:
        raise PolyuniError("--threshold must be in [0, 1), --permutations and --words at least 1")
    runs = {label: load_run(db_path, label, lock_timeout) for label in dict.fromkeys(label for label, _ in sets)}
    found = {(label, seed): _feature_set(db_path, runs[label], settings, seed, lock_timeout) for label, seed in sets}
    pairs = list(itertools.combinations(sets, 2))
    for (label_a, _), (label_b, _) in pairs:  # shared words checked before any work
        atoms = max(settings.atoms_for(runs[label_a]), settings.atoms_for(runs[label_b]))
        shared = shared_rows(runs[label_a], runs[label_b], n_words)[0].size
        if shared < atoms:
            raise PolyuniError(f"{label_a} and {label_b} share {shared} words: fewer than the {atoms} atoms to match")
    results, codes = [], {}
    for done, (key_a, key_b) in enumerate(pairs):
        progress(done, len(pairs), "matching features")
        score, action = match_feature_sets(db_path, runs[key_a[0]], runs[key_b[0]], found[key_a]["feature_set_id"],
                                           found[key_b]["feature_set_id"], n_words, permutations, threshold,
                                           force=force, lock_timeout=lock_timeout, codes=codes)
        results.append(("@".join(map(str, key_a)), "@".join(map(str, key_b)), score, action))
    progress(len(pairs), len(pairs), "matching features")
    return results
