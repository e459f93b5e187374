"""The count-based baseline of Levy, Goldberg and Dagan (2015), *Improving Distributional Similarity
with Lessons Learned from Word Embeddings*: window co-occurrence counts, positive PMI with context
distribution smoothing, and a truncated SVD whose singular values are raised to a power p.

Pure functions on numpy arrays and scipy sparse matrices, deterministic: the SVD starts from a fixed
vector and each singular vector's sign is fixed, so the same counts always give the same bits.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from threadpoolctl import threadpool_limits

# Up to this many rows a dense SVD is cheap; it also serves dim = vocabulary size, which ARPACK cannot.
DENSE_SVD_ROWS = 500


def cooccurrence(sentences: Sequence[np.ndarray], vocab_size: int, window: int) -> scipy.sparse.csr_matrix:
    """Symmetric counts #(w, c): c within ``window`` tokens of w in the same sentence, every
    occurrence counted once (no distance weighting). Sentences are arrays of word indices."""
    if not sentences:
        return scipy.sparse.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    tokens = np.concatenate(sentences).astype(np.int64)
    sentence_of = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    rows, columns = [], []
    for offset in range(1, window + 1):
        same = sentence_of[offset:] == sentence_of[:-offset]
        left, right = tokens[:-offset][same], tokens[offset:][same]
        rows += [left, right]
        columns += [right, left]
    rows_, columns_ = np.concatenate(rows), np.concatenate(columns)
    counts = scipy.sparse.coo_matrix(
        (np.ones(rows_.size, dtype=np.float64), (rows_, columns_)), shape=(vocab_size, vocab_size))
    return counts.tocsr()  # duplicates are summed


def ppmi(counts: scipy.sparse.csr_matrix, smoothing: float = 0.75) -> scipy.sparse.csr_matrix:
    """max(PMI, 0) with PMI(w, c) = log(#(w,c) · Σ_c' #(c')^α / (#(w) · #(c)^α)): word marginals
    #(w) = row sums, context marginals #(c) = column sums raised to α (α = 1: plain PPMI)."""
    counts = scipy.sparse.csr_matrix(counts, dtype=np.float64)
    counts.eliminate_zeros()
    total = counts.sum()
    word_totals = np.asarray(counts.sum(axis=1)).ravel()
    context_smoothed = np.asarray(counts.sum(axis=0)).ravel() ** smoothing
    context_probability = context_smoothed / context_smoothed.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data / total) - np.log(word_totals[coo.row] / total) - np.log(context_probability[coo.col])
    keep = pmi > 0
    positive = scipy.sparse.coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=counts.shape)
    return positive.tocsr()


def svd_embedding(matrix: scipy.sparse.spmatrix, dim: int, eigenvalue_weight: float = 0.5) -> np.ndarray:
    """W = U_d Σ_d^p: the top ``dim`` left singular vectors scaled by their singular values to the
    power p (LGD's eigenvalue weighting; p = 1 is the plain SVD, p = 0 the bare vectors).

    Deterministic: ARPACK starts from the all-ones vector, components are ordered by decreasing
    singular value, each is signed so that its largest-magnitude entry is positive, and BLAS runs on
    one thread, so the summation order does not depend on the machine's cores (nor do idle threads
    spin on a busy one)."""
    n = min(matrix.shape)
    if not 1 <= dim <= n:
        raise ValueError(f"dim must be between 1 and {n}, not {dim}")
    with threadpool_limits(limits=1, user_api="blas"):
        return _svd_embedding(matrix, dim, eigenvalue_weight)


def _svd_embedding(matrix: scipy.sparse.spmatrix, dim: int, eigenvalue_weight: float) -> np.ndarray:
    n = min(matrix.shape)
    if n <= DENSE_SVD_ROWS or dim >= n - 1:
        u, s, _ = scipy.linalg.svd(matrix.toarray(), full_matrices=False)
        u, s = u[:, :dim], s[:dim]
    else:
        start = np.ones(n, dtype=np.float64) / np.sqrt(n)
        u, s, _ = scipy.sparse.linalg.svds(scipy.sparse.csr_matrix(matrix, dtype=np.float64), k=dim,
                                           v0=start, solver="arpack")
        order = np.argsort(-s, kind="stable")
        u, s = u[:, order], s[order]
    peak = np.abs(u).argmax(axis=0)
    u = u * np.sign(u[peak, np.arange(u.shape[1])])
    return (u * s ** eigenvalue_weight).astype(np.float32)
