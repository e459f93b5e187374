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


def bench_features(atoms: int = 1_000, nonzero: int = 5, words: int = 50_000, n_jobs: int = 2,
                   sklearn_words: int = 1_000, permutations: int = 20) -> dict:
    """GloVe with the feature defaults: fit the dictionary on the most frequent words, encode all
    400,000, and match two dictionaries over 50,000 shared words with the shuffled null; beside
    scikit-learn's per-word OMP (``sparse_encode``) on ``sklearn_words`` words, scaled to all."""
    import resource

    from sklearn.decomposition import sparse_encode

    from polyuni_db.analysis import features as kernels
    from polyuni_db.sources.pretrained import GLOVE_50, PretrainedSource

    vectors = np.asarray(PretrainedSource(GLOVE_50).load().vectors)
    unit = kernels.unit_rows(vectors)
    started = time.perf_counter()
    dictionary = kernels.fit_dictionary(unit[:words], atoms, nonzero, 1, n_jobs=n_jobs)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    codes = kernels.encode(unit, dictionary, nonzero, n_jobs)
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    reference = sparse_encode(unit[:sklearn_words], dictionary, algorithm="omp", n_nonzero_coefs=nonzero)
    sklearn_s = (time.perf_counter() - started) * unit.shape[0] / sklearn_words
    same = bool(np.allclose(reference, codes[:sklearn_words].toarray(), atol=1e-8))
    other = kernels.fit_dictionary(unit[:words], atoms, nonzero, 2, n_jobs=n_jobs)
    codes_a, codes_b = codes[:words], kernels.encode(unit[:words], other, nonzero, n_jobs)
    started = time.perf_counter()
    matched = kernels.match(kernels.activation_correlation(codes_a, codes_b)).values.mean()
    kernels.shuffled_matching_null(codes_a, codes_b, permutations, 0, 0.5)
    match_s = time.perf_counter() - started
    return {"features_atoms": atoms, "features_fit_words": words, "features_encoded_words": unit.shape[0],
            "features_fit_s": fit_s, "features_encode_s": encode_s, "features_sklearn_omp_s_scaled": sklearn_s,
            "features_codes_equal_sklearn": same, "features_match_s": match_s, "features_match_permutations": permutations,
            "features_matched_r_seeds": float(matched),
            "features_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
