"""Planted polysemy end to end: ingest a run trained on a corpus with pseudowords and its reference
run (the same configuration on the original corpus), measure what each instrument recovers, and hand
the rows to the store."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from polyuni_db.analysis.pseudowords import PlantedPair, beta_trend, feature_recovery, measure, shared_anchor_rows
from polyuni_db.derived.features import FeatureSettings, feature_dictionary, find_feature_set
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.pipeline import IngestResult, ingest
from polyuni_db.sources.corpora import Corpus
from polyuni_db.sources.corpora import Pseudoword
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT
from polyuni_db.store.read import StoredRun, load_run, planted_pairs, pseudoword_null_pairs
from polyuni_db.store.write import write_pseudoword_instrument, write_pseudoword_recovery


@dataclass(frozen=True)
class RecoverySummary:
    n_planted: int
    n_measured: int  # pseudowords whose token and both words are in the runs
    mean_span_cosine: float
    null_mean_span_cosine: float
    beta_spearman_rho: float | None

    def line(self) -> str:
        rho = "n/a" if self.beta_spearman_rho is None else f"{self.beta_spearman_rho:.2f}"
        return (f"  {self.n_measured} of {self.n_planted} pseudowords measured: mean span cosine "
                f"{self.mean_span_cosine:.3f} (null {self.null_mean_span_cosine:.3f}), "
                f"Spearman rho of beta against lg r {rho}; see the view pseudoword_recovery")


@dataclass(frozen=True)
class PlantedOutcome:
    reference: IngestResult | None  # None when a stored --reference was named
    result: IngestResult
    summary: RecoverySummary


def reference_source(source):
    """The same training configuration on the corpus the pseudowords were planted in."""
    return dataclasses.replace(source, corpus=source.corpus.base)


def _check_reference(db_path: Path, label: str, source, lock_timeout: float) -> None:
    """Before any training: a stored --reference must be a run trained on the corpus the pseudowords
    were planted in, with as many dimensions (else the planted run would be stored, unmeasured)."""
    if not db_path.exists():
        raise PolyuniError(f"no run labelled {label!r} to use as --reference: {db_path} does not exist")
    run = load_run(db_path, label, lock_timeout)
    base = source.corpus.base.name
    if run.counts is None or run.corpus != base:
        raise PolyuniError(f"--reference {label!r} is {'a run on ' + repr(run.corpus) if run.corpus else 'not trained'}"
                           f": the reference must be trained on {base!r}, the corpus the pseudowords were planted in")
    if run.vectors.shape[1] != source.dim:
        raise PolyuniError(f"--reference {label!r} has {run.vectors.shape[1]} dimensions, this run {source.dim}: "
                           "the reference must have the same")


def ingest_planted(source, db_path: Path, label: str | None = None, reference: str | None = None,
                   reference_label: str | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                   **ingest_options) -> PlantedOutcome:
    """Ingest the reference (labelled ``reference_label``, by default as any run on the original
    corpus) unless a stored run ``reference`` is named, then the run with pseudowords, then measure
    recovery. ``source`` trains on a corpus made by ``sources.pseudowords``."""
    if source.corpus.base is None:
        raise PolyuniError("this corpus has no pseudowords: give --pseudowords N or --merge A:B")
    if reference is not None:
        _check_reference(db_path, reference, source, lock_timeout)
    reference_result = None
    if reference is None:
        reference_result = ingest(reference_source(source), db_path, label=reference_label, lock_timeout=lock_timeout,
                                  **ingest_options)
        reference = reference_result.label
    result = ingest(source, db_path, label=label, lock_timeout=lock_timeout, **ingest_options)
    summary = record_recovery(db_path, result.label, reference, source.corpus, lock_timeout)
    return PlantedOutcome(reference_result, result, summary)


def _anchors(run: StoredRun, base: StoredRun) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the words that align a planted run to its reference (``shared_anchor_rows``)."""
    if run.vectors.shape[1] != base.vectors.shape[1]:
        raise PolyuniError(f"{run.label} and its reference {base.label} differ in dimensions")
    if run.counts is None or base.counts is None:
        raise PolyuniError(f"{run.label} and {base.label} must both be trained runs (corpus counts)")
    anchors, reference_anchors = shared_anchor_rows(run.words, run.counts, np.asarray(run.vectors), base.index,
                                                    base.counts, np.asarray(base.vectors))
    if anchors.size < 2 * base.vectors.shape[1]:
        raise PolyuniError(f"{run.label} and {base.label} share {anchors.size} words counted 5+ times: too few to align")
    return anchors, reference_anchors


def record_recovery(db_path: Path, label: str, reference: str, corpus: Corpus,
                    lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> RecoverySummary:
    """Measure every pseudoword of the run ``label`` against the run ``reference`` and store the rows
    (replacing any from before)."""
    run, base = load_run(db_path, label, lock_timeout), load_run(db_path, reference, lock_timeout)
    tables, summary = recovery_tables(run, base, corpus.pseudowords, (corpus.transform or {}).get("seed") or 0)
    write_pseudoword_recovery(db_path, run.run_id, tables, lock_timeout)
    return summary


def recovery_tables(run: StoredRun, base: StoredRun, pseudowords: list[Pseudoword],
                    null_seed: int) -> tuple[dict[str, pa.Table], RecoverySummary]:
    """Every pseudoword of the run measured against its reference ``base``: the rows of the
    pseudoword tables (named as in the schema), and their summary."""
    anchors, reference_anchors = _anchors(run, base)
    measured_words = [p for p in pseudowords
                      if p.token in run.index and p.word_a in base.index and p.word_b in base.index]
    planted = [PlantedPair(run.index[p.token], base.index[p.word_a], base.index[p.word_b], p.count_a, p.count_b)
               for p in measured_words]
    tables = {"pseudowords": pa.table({
        "token": [p.token for p in pseudowords], "word_a": [p.word_a for p in pseudowords],
        "word_b": [p.word_b for p in pseudowords],
        "count_a": pa.array([p.count_a for p in pseudowords], pa.int64()),
        "count_b": pa.array([p.count_b for p in pseudowords], pa.int64()),
    })}
    summary = RecoverySummary(len(pseudowords), 0, float("nan"), float("nan"), None)
    if planted:
        found = measure(run.vectors, base.vectors, anchors, reference_anchors, run.counts[anchors], planted, null_seed)
        anchor_words = [run.words[i] for i in anchors]
        fits = pa.Table.from_pylist([
            {"token": p.token, **fit, "null_word_a": anchor_words[fit["null_word_a"]],
             "null_word_b": anchor_words[fit["null_word_b"]]}
            for p, fit in zip(measured_words, found.fits)])
        instruments = pa.Table.from_pylist([
            {"token": measured_words[row["pair"]].token, **{k: v for k, v in row.items() if k != "pair"}}
            for row in found.instruments])
        beta = fits.column("beta").to_numpy()
        ratio = np.array([max(p.count_a, p.count_b) / min(p.count_a, p.count_b) for p in measured_words])
        rho, p_value = beta_trend(beta, ratio)
        tables["pseudoword_fits"] = fits
        tables["pseudoword_instruments"] = instruments
        tables["pseudoword_alignment"] = pa.table({
            "reference_run_id": [base.run_id], "n_aligned": [found.n_aligned],
            "alignment_cosine": [found.alignment_cosine], "beta_spearman_rho": pa.array([rho], pa.float64()),
            "beta_spearman_p": pa.array([p_value], pa.float64()), "null_seed": [null_seed],
            "created_at": [datetime.now(timezone.utc).replace(tzinfo=None)],
        })
        summary = RecoverySummary(len(pseudowords), len(planted),
                                  float(fits.column("span_cosine").to_numpy().mean()),
                                  float(fits.column("null_span_cosine").to_numpy().mean()), rho)
    return tables, summary


def record_feature_recovery(db_path: Path, label: str, reference: str, settings: FeatureSettings = FeatureSettings(),
                            seed: int = 1, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[int, int] | None:
    """The features instrument of a planted run (``analysis.pseudowords.feature_recovery``) from
    the feature sets of the run and of its reference with these settings and dictionary seed,
    beside the null pairs the other instruments used; rows replace the run's earlier ones. Returns
    (pseudowords whose both senses were found, pseudowords measured), or None when either run has
    no such feature set."""
    run, base = load_run(db_path, label, lock_timeout), load_run(db_path, reference, lock_timeout)
    if any(find_feature_set(db_path, r, settings, seed, lock_timeout) is None for r in (run, base)):
        return None
    measured = pseudoword_null_pairs(db_path, run.run_id, lock_timeout)
    if not measured:
        return None
    anchors, reference_anchors = _anchors(run, base)
    dictionary, nonzero = feature_dictionary(db_path, label, seed, settings, lock_timeout)
    reference_dictionary, reference_nonzero = feature_dictionary(db_path, reference, seed, settings, lock_timeout)
    planted = [PlantedPair(run.index[p["token"]], base.index[p["word_a"]], base.index[p["word_b"]],
                           p["count_a"], p["count_b"]) for p in measured]
    nulls = [(base.index[p["null_word_a"]], base.index[p["null_word_b"]]) for p in measured]
    rows = feature_recovery(run.vectors, base.vectors, anchors, reference_anchors, dictionary, nonzero,
                            reference_dictionary, reference_nonzero, planted, nulls)
    table = pa.Table.from_pylist([{"token": measured[row["pair"]]["token"],
                                   **{k: v for k, v in row.items() if k != "pair"}} for row in rows])
    write_pseudoword_instrument(db_path, run.run_id, "feature_atoms", table, lock_timeout)
    return sum(row["recovered"] for row in rows), len(rows)


def record_feature_recoveries(db_path: Path, labels: list[str], settings: FeatureSettings = FeatureSettings(),
                              seed: int = 1, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[tuple[str, int, int]]:
    """The features instrument of every stored planted run that is, or whose reference is, among
    ``labels`` and that has feature sets on both sides: (run, both senses found, measured)."""
    found = []
    for label, reference in planted_pairs(db_path, lock_timeout):
        if label in labels or reference in labels:
            recovered = record_feature_recovery(db_path, label, reference, settings, seed, lock_timeout)
            if recovered is not None:
                found.append((label, *recovered))
    return found
