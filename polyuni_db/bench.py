"""Benchmarks against the original notebook's gensim loop, in the same process.

Dimension words: ours (row norms + one pass for both poles, on every core and on one thread)
against `most_similar` once per dimension (one pole, top 10), on a synthetic matrix, and against
one row-norm pass on one thread. Difference neighbours: one matrix product
for P pairs against P `most_similar` calls, on GloVe 50d.
"""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import asdict, dataclass

import numpy as np

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.neighbours import difference_neighbours
from polyuni_db.analysis.ranking import kernel_threads, row_norms


@dataclass
class BenchResult:
    vocab: int
    dim: int
    top_k: int
    ours_s: float
    threads: int  # kernel threads for ours_s
    ours_one_thread_s: float  # the same on one thread, in the same run
    gensim_loop_s: float
    gensim_dims_timed: int  # the loop is timed over this many dimensions (all, unless asked for fewer)
    speedup: float
    norm_pass_s: float  # one row-norm pass on one thread: what reading the matrix once costs
    ratio_to_norm_pass: float
    one_thread_ratio_to_norm_pass: float
    matrix_mb: float
    peak_extra_mb: float
    words_equal_gensim: bool
    pairs: int
    pairs_ours_s: float | None
    pairs_gensim_s: float | None
    pairs_speedup: float | None

    def as_dict(self) -> dict:
        return {key: (round(value, 4) if isinstance(value, float) else value) for key, value in asdict(self).items()}


def synthetic_matrix(vocab: int, dim: int, seed: int = 0) -> np.ndarray:
    """Word-vector-like float32 rows: a shared offset plus noise, as trained embeddings have."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((vocab, dim), dtype=np.float32)
    matrix += rng.standard_normal(dim, dtype=np.float32) * 0.5
    return matrix


def _keyed(vectors: np.ndarray, words: list[str]):
    """gensim KeyedVectors over the same array, without a copy."""
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(vectors.shape[1])
    keyed.vectors = vectors
    keyed.index_to_key = words
    return keyed


def bench_dimension_words(vectors: np.ndarray, top_k: int = 10, gensim_dims: int | None = None,
                          progress=lambda done, total, text: None) -> dict:
    vocab, dim = vectors.shape
    started = time.perf_counter()
    row_norms(vectors, threads=1)
    norm_pass = time.perf_counter() - started

    started = time.perf_counter()
    one_thread = dimension_words(vectors, top_k, row_norms(vectors, threads=1), threads=1)
    ours_one_thread_s = time.perf_counter() - started

    started = time.perf_counter()
    ours = dimension_words(vectors, top_k, row_norms(vectors))
    ours_s = time.perf_counter() - started
    for pole in ours:  # threads change the order of work, never the answer
        assert np.array_equal(ours[pole].indices, one_thread[pole].indices)

    tracemalloc.start()
    dimension_words(vectors, top_k, row_norms(vectors))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    words = [str(i) for i in range(vocab)]
    keyed = _keyed(vectors, words)
    timed = dim if gensim_dims is None else min(dim, gensim_dims)
    equal = True
    started = time.perf_counter()
    keyed.fill_norms()  # once, as the notebook's first most_similar call does
    fill_norms_s = time.perf_counter() - started
    started = time.perf_counter()
    for d in range(timed):  # the notebook: a query with the column's max at d, one pole
        query = np.zeros(dim, dtype=np.float32)
        query[d] = vectors[:, d].max()
        found = [int(word) for word, _ in keyed.most_similar(query, topn=top_k)]
        equal &= found == ours["max"].indices[d].tolist()
        progress(d + 1, timed, "gensim most_similar loop")
    gensim_s = fill_norms_s + (time.perf_counter() - started) * dim / timed
    return {"vocab": vocab, "dim": dim, "top_k": top_k, "ours_s": ours_s, "threads": kernel_threads(),
            "ours_one_thread_s": ours_one_thread_s, "gensim_loop_s": gensim_s,
            "gensim_dims_timed": timed, "speedup": gensim_s / ours_s, "norm_pass_s": norm_pass,
            "ratio_to_norm_pass": ours_s / norm_pass,
            "one_thread_ratio_to_norm_pass": ours_one_thread_s / norm_pass, "matrix_mb": vectors.nbytes / 2**20,
            "peak_extra_mb": peak / 2**20, "words_equal_gensim": bool(equal)}


def bench_pairs(n_pairs: int, top_k: int = 10, seed: int = 0) -> dict:
    """Difference-vector neighbours for ``n_pairs`` random pairs of GloVe words."""
    from polyuni_db.sources.pretrained import GLOVE_50, PretrainedSource

    glove = PretrainedSource(GLOVE_50).load()
    vectors = np.asarray(glove.vectors)
    rng = np.random.default_rng(seed)
    pairs = [tuple(pair) for pair in rng.choice(50_000, size=(n_pairs, 2), replace=False).reshape(-1, 2)]
    norms = row_norms(vectors)
    started = time.perf_counter()
    ours = difference_neighbours(vectors, norms, pairs, top_k)
    ours_s = time.perf_counter() - started
    keyed = _keyed(vectors, glove.words)
    keyed.fill_norms()
    started = time.perf_counter()
    theirs = [keyed.most_similar(vectors[a] - vectors[b], topn=top_k) for a, b in pairs]
    gensim_s = time.perf_counter() - started
    assert [[glove.words[i] for i in row] for row in ours.indices.tolist()] == [[w for w, _ in row] for row in theirs]
    return {"pairs": n_pairs, "pairs_ours_s": ours_s, "pairs_gensim_s": gensim_s, "pairs_speedup": gensim_s / ours_s}


def run_bench(vocab: int, dim: int, n_pairs: int, top_k: int = 10, gensim_dims: int | None = None,
              progress=lambda done, total, text: None) -> BenchResult:
    vectors = synthetic_matrix(vocab, dim)
    result = bench_dimension_words(vectors, top_k, gensim_dims, progress)
    del vectors
    pairs = bench_pairs(n_pairs, top_k) if n_pairs else {
        "pairs": 0, "pairs_ours_s": None, "pairs_gensim_s": None, "pairs_speedup": None}
    return BenchResult(**result, **pairs)


def bench_features(words: int | None = None, n_jobs: int = 2, n_top: int = 20) -> dict:
    """The overcomplete dictionary (omp: 1,000 atoms, 5 a word, fitted once) beside the reproducible
    method (ica: 50 independent components fitted 6 times, 15 a word) on GloVe with their default
    settings: per method, two feature sets from independent seeds fitted on the ``words`` most
    frequent words and every word encoded (seconds: wall and CPU per feature set, scoring and
    writing left out), their R² on the fitted words, and their agreement over the fitted words, the
    seed ceiling: mean matched activation |r| and the mean Jaccard index of matched atoms' top-``n_top``
    words (by projection), reproducible atoms matched both ways as `polyuni match-features` does
    (every atom, for omp)."""
    import resource

    from threadpoolctl import threadpool_limits

    from polyuni_db.analysis import features as kernels
    from polyuni_db.derived.features import DEFAULT_WORDS, OMP_ATOMS, OMP_NONZERO, ica_nonzero
    from polyuni_db.sources.pretrained import GLOVE_50, PretrainedSource

    words = DEFAULT_WORDS if words is None else words  # the feature sets' default: 20,000
    vectors = np.asarray(PretrainedSource(GLOVE_50).load().vectors)
    unit = kernels.unit_rows(vectors)
    fitted = unit[:words]
    result: dict = {"features_fit_words": words, "features_encoded_words": unit.shape[0]}
    dim = vectors.shape[1]
    for method, atoms, nonzero in (("omp", OMP_ATOMS, OMP_NONZERO), ("ica", dim, ica_nonzero(dim))):
        sets = []
        wall = cpu = 0.0
        for seed in (1, 2):
            started, started_cpu = time.perf_counter(), time.process_time()
            with threadpool_limits(limits=1, user_api="blas"):  # as `polyuni features` fits and encodes
                if method == "ica":
                    found = kernels.fit_reproducible_atoms(fitted, atoms, seed)
                    dictionary, keep = found.dictionary, kernels.reproducible(found.reproducibility)
                else:
                    dictionary = kernels.fit_dictionary(fitted, atoms, nonzero, seed, n_jobs=n_jobs)
                    keep = np.ones(atoms, bool)
                codes = kernels.encode(unit, dictionary, nonzero, n_jobs)
            wall += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
            dictionary, codes = kernels.orient(dictionary, codes)
            sets.append((dictionary, codes[:words], np.flatnonzero(keep)))
        (dictionary_a, codes_a, keep_a), (dictionary_b, codes_b, keep_b) = sets
        similarity = kernels.activation_correlation(codes_a, codes_b)
        ceiling, _ = kernels.both_ways_score(similarity, keep_a, keep_b, 0.5)  # as `polyuni match-features`
        from_a, from_b = kernels.match_both_ways(similarity, keep_a, keep_b)
        top_a, top_b = ([set(rows) for rows in kernels.top_by_projection(fitted, d, n_top)[0]]
                        for d in (dictionary_a, dictionary_b))
        jaccard = (kernels.top_word_jaccard(top_a, top_b, keep_a[from_a.atoms_a], from_a.atoms_b)
                   + kernels.top_word_jaccard(top_b, top_a, keep_b[from_b.atoms_a], from_b.atoms_b)) / 2
        result.update({
            f"features_{method}_atoms": atoms, f"features_{method}_reproducible_atoms": int(keep_a.size),
            f"features_{method}_seed_ceiling_r": ceiling, f"features_{method}_top_word_jaccard": jaccard,
            f"features_{method}_r2": kernels.explained_variance(fitted, codes_a, dictionary_a),
            f"features_{method}_seconds": wall / 2, f"features_{method}_cpu_seconds": cpu / 2,
        })
    result["features_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result
