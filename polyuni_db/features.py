"""Feature sets of stored runs and features matched across runs: reads a run's kept vectors, calls
the kernels of ``analysis.features``, and hands the rows to ``store.features`` (one transaction per
feature set, one per matched pair)."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import sparse

from polyuni_db.analysis import features as kernels
from polyuni_db.analysis.similarity import against_null
from polyuni_db.compare import shared_rows
from polyuni_db.errors import PolyuniError
from polyuni_db.pipeline import fingerprint
from polyuni_db.sources.base import Progress, no_progress
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.features import (
    feature_set_by_id,
    feature_set_rows,
    read_codes,
    read_top_words,
    stored_feature_set,
    write_feature_set,
    write_match,
)
from polyuni_db.store.read import StoredRun, load_run
from polyuni_db.store.vectors import keep_vectors, load_vectors

DEFAULT_ATOMS = 1_000
DEFAULT_NONZERO = 5
DEFAULT_WORDS = 50_000
TOP_WORDS = 10  # each atom's top words, stored and scored
RANDOM_ATOMS = 1_000  # atoms made of random words: the null for coherence and purity
SENSE_PERMUTATIONS = 100
DEFAULT_MATCH_WORDS = 50_000
DEFAULT_MATCH_PERMUTATIONS = 20
DEFAULT_THRESHOLD = 0.5
NULL_SEED = 0


@dataclass(frozen=True)
class FeatureSettings:
    atoms: int = DEFAULT_ATOMS
    nonzero: int = DEFAULT_NONZERO
    words: int = DEFAULT_WORDS

    def check(self, run: StoredRun, n_fit: int) -> None:
        """One-line errors for settings that cannot work on this run."""
        dim = run.vectors.shape[1]
        if self.atoms < 1:
            raise PolyuniError(f"--atoms must be at least 1, not {self.atoms}")
        if not 1 <= self.nonzero <= dim:
            raise PolyuniError(f"--nonzero must be between 1 and {run.label}'s {dim} dimensions, not {self.nonzero}")
        if self.words < self.atoms:
            raise PolyuniError(f"--words {self.words} is fewer than --atoms {self.atoms}: a dictionary needs more words than atoms")
        if n_fit < self.atoms:
            raise PolyuniError(f"{run.label} has {n_fit} trained words with a direction: fewer than --atoms {self.atoms}")

    def spec(self, run: StoredRun, seed: int) -> dict:
        """Everything that determines a feature set's rows: its fingerprint is made of this."""
        return {"run": run.fingerprint, "atoms": self.atoms, "nonzero": self.nonzero, "words": self.words,
                "seed": seed, "algorithm": "omp codes + least-squares dictionary (MOD), unit vectors",
                "iterations": kernels.FIT_ITERATIONS, "top_words": TOP_WORDS, "random_atoms": RANDOM_ATOMS,
                "sense_permutations": SENSE_PERMUTATIONS, "wordnet": "3.0", "null_seed": NULL_SEED}


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


def _scores(metric: str, scored, n: int) -> dict:
    return {"metric": metric, **scored._asdict(), "n": n}


def build_feature_set(run: StoredRun, settings: FeatureSettings, seed: int, n_jobs: int = 2,
                      progress: Progress = no_progress) -> tuple[np.ndarray, dict, dict[str, pa.Table], pa.Table]:
    """Fit, encode and score: (dictionary, the feature_sets columns, rows of each table, WordNet rows)."""
    started = time.perf_counter()
    fit = fit_rows(run)[:settings.words]
    encoded = np.flatnonzero(run.rankable)
    vectors = np.asarray(run.vectors)
    unit_fit = kernels.unit_rows(vectors[fit])
    dictionary = kernels.fit_dictionary(unit_fit, settings.atoms, settings.nonzero, seed, n_jobs=n_jobs,
                                        progress=lambda done, total: progress(done, total, f"{run.label}: fitting {settings.atoms} atoms"))
    unit = kernels.unit_rows(vectors[encoded])
    codes = kernels.encode(unit, dictionary, settings.nonzero, n_jobs,
                           progress=lambda done, total: progress(done, total, f"{run.label}: encoding every word"))
    dictionary, codes = kernels.orient(dictionary, codes)
    words = np.asarray(run.words, dtype=object)
    encoded_words = words[encoded]
    position = np.full(len(run.words), -1)
    position[encoded] = np.arange(encoded.size)
    fit_positions = position[fit]

    # each atom's top words among the fitted (frequent) words
    top = kernels.top_words(codes, TOP_WORDS, fit_positions)
    senses = wordnet_senses(encoded_words.tolist())
    lexname = {word: sense[1] for word, sense in senses.items()}
    atom_rows = {"atom": [], "n_words": [], "coherence": [], "supersense_purity": [], "supersense": [],
                 "n_wordnet_words": []}
    feature_rows = {"atom": [], "rank": [], "word": [], "activation": []}
    usage = codes.getnnz(axis=0)
    for atom, (rows, activations) in enumerate(zip(top.rows, top.activations)):
        names = [lexname.get(word) for word in encoded_words[rows]]
        known = [name for name in names if name]
        atom_rows["atom"].append(atom)
        atom_rows["n_words"].append(int(usage[atom]))
        atom_rows["coherence"].append(kernels.coherence(unit, rows))
        atom_rows["supersense_purity"].append(kernels.supersense_purity(names))
        atom_rows["supersense"].append(max(set(known), key=known.count) if known else None)
        atom_rows["n_wordnet_words"].append(len(known))
        feature_rows["atom"] += [atom] * len(rows)
        feature_rows["rank"] += list(range(1, len(rows) + 1))
        feature_rows["word"] += encoded_words[rows].tolist()
        feature_rows["activation"] += activations.tolist()

    # nulls: atoms made of random fitted words; sense counts shuffled across words
    rng = np.random.default_rng([NULL_SEED, seed])
    draws = [rng.choice(fit_positions, min(TOP_WORDS, fit_positions.size), replace=False) for _ in range(RANDOM_ATOMS)]
    coherence = np.array(atom_rows["coherence"], dtype=float)
    purity = np.array(atom_rows["supersense_purity"], dtype=float)
    random_coherence = np.array([kernels.coherence(unit, rows) for rows in draws])
    random_purity = np.array([kernels.supersense_purity([lexname.get(w) for w in encoded_words[rows]]) for rows in draws])
    scores = [
        _scores("random_atom_coherence", against_null(np.nanmean(coherence), random_coherence),
                int(np.isfinite(coherence).sum())),
        _scores("random_atom_purity", against_null(np.nanmean(purity), random_purity[np.isfinite(random_purity)]),
                int(np.isfinite(purity).sum())),
    ]
    in_wordnet = np.array([word in senses for word in encoded_words])
    effective = kernels.effective_atoms(codes)[in_wordnet]
    n_senses = np.array([senses[word][0] for word in encoded_words[in_wordnet]], dtype=float)
    if in_wordnet.sum() >= 3:
        rho, null = kernels.spearman_with_null(effective, n_senses, SENSE_PERMUTATIONS, seed)
        scores.append(_scores("senses_spearman", against_null(rho, null), int(in_wordnet.sum())))

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
        "atom_scores": pa.table(atom_rows),
        "feature_set_scores": pa.Table.from_pylist(scores),
    }
    wordnet_rows = pa.table({"word": list(senses), "n_senses": pa.array([s[0] for s in senses.values()], pa.int32()),
                             "supersense": [s[1] for s in senses.values()]})
    row = {"atoms": settings.atoms, "nonzero": settings.nonzero, "words": settings.words, "seed": seed,
           "n_fit": int(fit.size), "n_encoded": int(encoded.size),
           "explained_variance": kernels.explained_variance(unit, codes, dictionary),
           "dead_atoms": kernels.dead_atoms(codes), "seconds": time.perf_counter() - started}
    return dictionary, row, tables, wordnet_rows


@dataclass(frozen=True)
class FeatureOutcome:
    label: str
    seed: int
    feature_set_id: int
    action: str  # 'computed' | 'replaced' | 'skipped'
    row: dict | None = None


def compute_features(db_path: Path, labels: list[str], settings: FeatureSettings = FeatureSettings(),
                     seeds: list[int] = (1,), force: bool = False, n_jobs: int = 2,
                     progress: Progress = no_progress, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                     on_outcome=lambda outcome: None) -> list[FeatureOutcome]:
    """A feature set per (run, seed); stored ones are skipped unless ``force``. Two or more seeds of
    a run are then matched with each other: the run's stability, the ceiling of any cross-run match."""
    runs = [load_run(db_path, label, lock_timeout) for label in dict.fromkeys(labels)]
    for run in runs:  # every input checked before any work
        settings.check(run, fit_rows(run).size)
    outcomes = []
    for run in runs:
        ids = {}
        for seed in dict.fromkeys(seeds):
            spec = settings.spec(run, seed)
            set_fingerprint = fingerprint(spec)
            stored = stored_feature_set(db_path, set_fingerprint, lock_timeout)
            if stored is not None and not force:
                outcome = FeatureOutcome(run.label, seed, stored, "skipped")
            else:
                dictionary, row, tables, senses = build_feature_set(run, settings, seed, n_jobs, progress)
                row.update(run_id=run.run_id, fingerprint=set_fingerprint, parameters=spec,
                           dictionary_path=keep_vectors(db_path, set_fingerprint, dictionary)[0],
                           created_at=datetime.now(timezone.utc).replace(tzinfo=None))
                feature_set_id = write_feature_set(db_path, row, tables, senses, lock_timeout)
                outcome = FeatureOutcome(run.label, seed, feature_set_id, "replaced" if stored else "computed", row)
            on_outcome(outcome)
            outcomes.append(outcome)
            ids[seed] = outcome.feature_set_id
        for seed_a, seed_b in itertools.combinations(sorted(ids), 2):
            match_feature_sets(db_path, run, run, ids[seed_a], ids[seed_b], lock_timeout=lock_timeout)
    return outcomes


def _codes(db_path: Path, run: StoredRun, feature_set_id: int, atoms: int, lock_timeout: float) -> sparse.csr_matrix:
    """A feature set's codes as a (run's words x atoms) sparse matrix, rows in vocabulary order."""
    table = read_codes(db_path, feature_set_id, lock_timeout)
    index = run.index
    rows = np.fromiter((index[word] for word in table.column("word").to_pylist()), dtype=np.int64, count=table.num_rows)
    return sparse.csr_matrix((table.column("coefficient").to_numpy().astype(np.float64),
                              (rows, table.column("atom").to_numpy())), shape=(len(run.words), atoms))


def _feature_set(db_path: Path, run: StoredRun, settings: FeatureSettings, seed: int, lock_timeout: float) -> dict:
    found = feature_set_rows(db_path, run.run_id, settings.atoms, settings.nonzero, settings.words, seed, lock_timeout)
    if found is None:
        raise PolyuniError(f"{run.label} has no feature set with {settings.atoms} atoms, {settings.nonzero} nonzero, "
                           f"{settings.words} words, seed {seed}: run `polyuni features {run.label}` first")
    return found


def feature_dictionary(db_path: Path, label: str, seed: int = 1, settings: FeatureSettings = FeatureSettings(),
                       lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[np.ndarray, int]:
    """A stored feature set's dictionary (atoms x dim) and its nonzero count: with
    ``analysis.features.atoms_used`` it says which atoms any vector of that run's space uses."""
    found = _feature_set(db_path, load_run(db_path, label, lock_timeout), settings, seed, lock_timeout)
    return np.asarray(load_vectors(db_path, found["dictionary_path"], label)), found["nonzero"]


def match_feature_sets(db_path: Path, run_a: StoredRun, run_b: StoredRun, set_a: int, set_b: int,
                       n_words: int = DEFAULT_MATCH_WORDS, permutations: int = DEFAULT_MATCH_PERMUTATIONS,
                       threshold: float = DEFAULT_THRESHOLD, seed: int = NULL_SEED,
                       lock_timeout: float = DEFAULT_LOCK_TIMEOUT, codes: dict | None = None) -> dict:
    """Match two stored feature sets over the runs' ``n_words`` most frequent shared words, against
    ``permutations`` shuffled word correspondences; same run (two seeds): decoder cosines too.
    ``codes``: a cache of feature sets' codes, filled here, for matching one set with many."""
    codes = {} if codes is None else codes
    a, b = feature_set_by_id(db_path, set_a, lock_timeout), feature_set_by_id(db_path, set_b, lock_timeout)
    rows_a, rows_b = shared_rows(run_a, run_b, n_words)
    if rows_a.size < max(a["atoms"], b["atoms"]):
        raise PolyuniError(f"{run_a.label} and {run_b.label} share {rows_a.size} words: fewer than the "
                           f"{max(a['atoms'], b['atoms'])} atoms to match")
    for run, found in ((run_a, a), (run_b, b)):
        if found["feature_set_id"] not in codes:
            codes[found["feature_set_id"]] = _codes(db_path, run, found["feature_set_id"], found["atoms"], lock_timeout)
    codes_a, codes_b = codes[set_a][rows_a], codes[set_b][rows_b]
    matching = kernels.match(kernels.activation_correlation(codes_a, codes_b))
    null_means, null_above = kernels.shuffled_matching_null(codes_a, codes_b, permutations, seed, threshold)
    scored = against_null(float(matching.values.mean()), null_means)
    cosine = share = None
    pair_cosines = [None] * matching.atoms_a.size
    if run_a.run_id == run_b.run_id:
        cosines = kernels.decoder_cosines(load_vectors(db_path, a["dictionary_path"], run_a.label),
                                          load_vectors(db_path, b["dictionary_path"], run_b.label))
        by_cosine = kernels.match(cosines)
        cosine, share = float(by_cosine.values.mean()), float(np.mean(by_cosine.values > 0.9))
        pair_cosines = np.abs(cosines[matching.atoms_a, matching.atoms_b]).tolist()
    top_a, top_b = read_top_words(db_path, set_a, lock_timeout), read_top_words(db_path, set_b, lock_timeout)
    matches = [{"feature_set_a": set_a, "feature_set_b": set_b, "atom_a": int(atom_a), "atom_b": int(atom_b),
                "correlation": float(value), "best_atom_b": int(matching.best_b[atom_a]),
                "best_correlation": float(matching.best_values[atom_a]), "decoder_cosine": pair_cosine,
                "shared_top_words": len(top_a.get(int(atom_a), set()) & top_b.get(int(atom_b), set()))}
               for atom_a, atom_b, value, pair_cosine in zip(matching.atoms_a, matching.atoms_b, matching.values, pair_cosines)]
    score = {"feature_set_a": set_a, "feature_set_b": set_b, "n_words": int(rows_a.size), "threshold": threshold,
             "mean_matched_correlation": scored.value, "n_matched_above_threshold": int(np.sum(matching.values > threshold)),
             "null_mean": scored.null_mean, "null_sd": scored.null_sd, "z": scored.calibrated, "p_value": scored.p_value,
             "null_above_threshold": float(null_above.mean()), "mean_matched_cosine": cosine,
             "share_cosine_above_0_9": share,
             "parameters": {"words_requested": n_words, "permutations": permutations, "seed": seed},
             "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}
    write_match(db_path, score, matches, lock_timeout)
    return score


def match_features(db_path: Path, labels: list[str], settings: FeatureSettings = FeatureSettings(), seed: int = 1,
                   n_words: int = DEFAULT_MATCH_WORDS, permutations: int = DEFAULT_MATCH_PERMUTATIONS,
                   threshold: float = DEFAULT_THRESHOLD, progress: Progress = no_progress,
                   lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[tuple[str, str, dict]]:
    """Every pair of the given runs (in label order), each run's feature set of these settings and seed."""
    if len(set(labels)) < 2:
        raise PolyuniError("match-features needs at least two different run labels")
    if not 0 <= threshold < 1 or permutations < 1 or n_words < 1:
        raise PolyuniError("--threshold must be in [0, 1), --permutations and --words at least 1")
    runs = {label: load_run(db_path, label, lock_timeout) for label in sorted(set(labels))}
    sets = {label: _feature_set(db_path, run, settings, seed, lock_timeout)["feature_set_id"]
            for label, run in runs.items()}
    for label_a, label_b in itertools.combinations(runs, 2):  # shared words checked before any work
        found = shared_rows(runs[label_a], runs[label_b], n_words)[0].size
        if found < settings.atoms:
            raise PolyuniError(f"{label_a} and {label_b} share {found} words: fewer than the {settings.atoms} atoms to match")
    pairs = list(itertools.combinations(runs, 2))
    results, codes = [], {}
    for done, (label_a, label_b) in enumerate(pairs):
        progress(done, len(pairs), "matching features")
        results.append((label_a, label_b, match_feature_sets(
            db_path, runs[label_a], runs[label_b], sets[label_a], sets[label_b], n_words, permutations, threshold,
            lock_timeout=lock_timeout, codes=codes)))
    progress(len(pairs), len(pairs), "matching features")
    return results
