"""Features without a basis: a sparse overcomplete dictionary per model, and features matched across
models.

Each unit word vector is a sparse combination of a few unit "atoms" (Arora et al. 2018, *Linear
Algebraic Structure of Word Senses*): the atoms are the model's features, whatever its basis.
Dictionaries are learnt by alternating orthogonal matching pursuit (``nonzero`` atoms a word) with a
least-squares update of the atoms, and every word is encoded with the learnt dictionary by OMP. Atoms of two
models are paired by the correlation of their activations over the words both models share (Lan et
al. 2024), one to one with the Hungarian algorithm, and set against shuffled word correspondences.

An atom and its negation are the same feature: every atom is oriented so that its summed activation
is positive, and matching scores use absolute cosines and correlations.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

# scikit-learn's dictionary learners fit codes by lasso (LARS or coordinate descent) and its OMP
# encodes one word at a time, copying the Gram matrix for each: with 1,000 atoms that measured
# 11 s per batch of 512 words (lasso) and 3 ms a word (OMP) here. So codes come from OMP run on a
# block of words at once (the same algorithm as scikit-learn's ``orthogonal_mp_gram``, checked
# against it by the tests) and the dictionary from alternating OMP codes with the least-squares
# update of the method of optimal directions (Engan et al. 1999; k-SVD's sibling, which Arora et
# al. used).
FIT_ITERATIONS = 5
# Words per OMP block: the block's correlations with every atom (block x atoms) stay near 16 MB.
ENCODE_BLOCK = 2_048


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float64; rows must be non-zero)."""
    x = np.asarray(vectors, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def omp_block(x: np.ndarray, dictionary: np.ndarray, gram: np.ndarray, nonzero: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal matching pursuit for every row of ``x`` at once: (atoms chosen, n x nonzero;
    their least-squares coefficients). Each step adds the atom most correlated with the residual,
    then refits the coefficients of all chosen atoms, as ``orthogonal_mp_gram`` does per row."""
    covariance = x @ dictionary.T
    n = x.shape[0]
    support = np.zeros((n, nonzero), dtype=np.int64)
    correlation = covariance.copy()
    coefficients = np.zeros((n, 0))
    for step in range(nonzero):
        strength = np.abs(correlation)
        if step:
            np.put_along_axis(strength, support[:, :step], -1.0, axis=1)  # chosen atoms stay chosen once
        support[:, step] = strength.argmax(axis=1)
        chosen = support[:, :step + 1]
        sub_gram = gram[chosen[:, :, None], chosen[:, None, :]]
        target = np.take_along_axis(covariance, chosen, axis=1)
        coefficients = _solve_normal_equations(sub_gram, target)
        # residual correlations: covariance - codes @ gram, the codes as a sparse matrix
        codes = sparse.csr_matrix((coefficients.ravel(), chosen.ravel(), np.arange(0, n * (step + 1) + 1, step + 1)),
                                  shape=(n, gram.shape[0]))
        correlation = covariance - codes @ gram
    return support, coefficients


def _solve_normal_equations(sub_gram: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of the chosen atoms, one system per word. A singular sub-Gram
    (duplicate atoms, or more atoms a word than independent atoms) gets the minimum-norm solution."""
    try:
        return np.linalg.solve(sub_gram, target[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(sub_gram, hermitian=True) @ target[:, :, None])[:, :, 0]


def encode(x: np.ndarray, dictionary: np.ndarray, nonzero: int, n_jobs: int = 2,
           block: int = ENCODE_BLOCK, progress=lambda done, total: None) -> sparse.csr_matrix:
    """Sparse codes (words x atoms) by OMP with ``nonzero`` atoms a word. The Gram matrix of the
    dictionary is computed once; words go in blocks, blocks over ``n_jobs`` cores (joblib threads:
    numpy releases the GIL)."""
    from joblib import Parallel, delayed

    dictionary = np.asarray(dictionary, dtype=np.float64)
    gram = dictionary @ dictionary.T
    starts = list(range(0, x.shape[0], block))
    found: list = []
    # a few blocks per batch, so that progress can be shown between batches
    for batch in range(0, len(starts), 4 * n_jobs):
        found += Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(omp_block)(np.asarray(x[s:s + block], dtype=np.float64), dictionary, gram, nonzero)
            for s in starts[batch:batch + 4 * n_jobs])
        progress(min(x.shape[0], (batch + 4 * n_jobs) * block), x.shape[0])
    if not found:
        return sparse.csr_matrix((0, dictionary.shape[0]))
    support = np.concatenate([part[0] for part in found])
    values = np.concatenate([part[1] for part in found])
    rows = np.repeat(np.arange(support.shape[0]), nonzero)
    codes = sparse.csr_matrix((values.ravel(), (rows, support.ravel())), shape=(support.shape[0], dictionary.shape[0]))
    codes.eliminate_zeros()
    return codes


def fit_dictionary(x: np.ndarray, atoms: int, nonzero: int, seed: int, iterations: int = FIT_ITERATIONS,
                   n_jobs: int = 2, progress=lambda done, total: None) -> np.ndarray:
    """``atoms`` unit atoms (atoms x dim) for the unit rows ``x``: start from randomly chosen rows,
    then alternate OMP codes and the least-squares dictionary; an atom no word uses is replaced by
    the word worst reconstructed. The same for the same seed."""
    rng = np.random.default_rng(seed)
    dictionary = x[rng.choice(x.shape[0], atoms, replace=False)].copy()
    for iteration in range(iterations):
        codes = encode(x, dictionary, nonzero, n_jobs)
        usage = (codes.T @ codes).toarray()
        used = np.diag(usage) > 0
        # least squares over the atoms in use: (CᵀC) D = Cᵀ X, a tiny ridge against singular CᵀC
        solved = np.linalg.solve(usage[np.ix_(used, used)] + 1e-8 * np.eye(used.sum()), (codes.T @ x)[used])
        dictionary[used] = solved
        if not used.all():
            residual = ((x - codes @ dictionary) ** 2).sum(axis=1)
            dictionary[~used] = x[np.argsort(-residual, kind="stable")[:int((~used).sum())]]
        dictionary = unit_rows(dictionary)
        progress(iteration + 1, iterations)
    return dictionary


def orient(dictionary: np.ndarray, codes: sparse.csr_matrix) -> tuple[np.ndarray, sparse.csr_matrix]:
    """Flip each atom (and its codes) so that its summed activation is positive."""
    signs = np.where(np.asarray(codes.sum(axis=0)).ravel() < 0, -1.0, 1.0)
    return dictionary * signs[:, None], sparse.csr_matrix(codes @ sparse.diags(signs))


def explained_variance(x: np.ndarray, codes: sparse.csr_matrix, dictionary: np.ndarray, block: int = 50_000) -> float:
    """R² of the reconstruction: 1 - ||X - C D||² / ||X - mean(X)||²."""
    residual = total = 0.0
    mean = x.mean(axis=0)
    for start in range(0, x.shape[0], block):
        rows = x[start:start + block]
        residual += float(((rows - codes[start:start + block] @ dictionary) ** 2).sum())
        total += float(((rows - mean) ** 2).sum())
    return 1.0 - residual / total


def dead_atoms(codes: sparse.csr_matrix) -> int:
    """Atoms no word uses."""
    return int(np.sum(codes.getnnz(axis=0) == 0))


def atoms_used(vector: np.ndarray, dictionary: np.ndarray, nonzero: int) -> list[tuple[int, float]]:
    """The atoms a vector uses and their coefficients, largest first: the vector made unit and
    encoded as every word of the feature set was. For asking, e.g., whether a pseudoword uses the
    atoms of the two words it was made from."""
    codes = encode(unit_rows(np.atleast_2d(vector)), dictionary, nonzero, n_jobs=1)
    found = [(int(atom), float(value)) for atom, value in zip(codes.indices, codes.data) if value != 0]
    return sorted(found, key=lambda item: -abs(item[1]))


class TopWords(NamedTuple):
    """``rows[a]``: the rows with atom a's largest positive activations, largest first."""

    rows: list[np.ndarray]
    activations: list[np.ndarray]


def top_words(codes: sparse.csr_matrix, n_top: int, candidates: np.ndarray | None = None) -> TopWords:
    """Each atom's ``n_top`` rows of largest positive activation, among ``candidates`` rows if given
    (e.g. the frequent words the dictionary was fitted on)."""
    by_atom = (codes if candidates is None else codes[candidates]).tocsc()
    origin = np.arange(codes.shape[0]) if candidates is None else np.asarray(candidates)
    rows, activations = [], []
    for atom in range(by_atom.shape[1]):
        start, end = by_atom.indptr[atom], by_atom.indptr[atom + 1]
        values, where = by_atom.data[start:end], by_atom.indices[start:end]
        keep = values > 0
        values, where = values[keep], where[keep]
        order = np.lexsort((where, -values))[:n_top]  # ties by row: the more frequent word first
        rows.append(origin[where[order]])
        activations.append(values[order])
    return TopWords(rows, activations)


def coherence(unit: np.ndarray, rows: np.ndarray) -> float:
    """Mean pairwise cosine of the given rows of unit vectors (NaN for fewer than two)."""
    if len(rows) < 2:
        return float("nan")
    block = unit[rows]
    cosines = block @ block.T
    n = len(rows)
    return float((cosines.sum() - np.trace(cosines)) / (n * (n - 1)))


def random_coherence(unit: np.ndarray, pool: np.ndarray, size: int, draws: int, seed: int) -> np.ndarray:
    """Coherence of ``draws`` atoms made of ``size`` random rows of ``pool``: the null for an atom."""
    rng = np.random.default_rng(seed)
    return np.array([coherence(unit, rng.choice(pool, size, replace=False)) for _ in range(draws)])


def supersense_purity(lexnames: list[str | None]) -> float:
    """The largest share of the words (those WordNet knows) that share a supersense (lexname)."""
    known = [name for name in lexnames if name]
    if not known:
        return float("nan")
    _, counts = np.unique(known, return_counts=True)
    return float(counts.max() / len(known))


def effective_atoms(codes: sparse.csr_matrix) -> np.ndarray:
    """Per word, the participation ratio of its squared coefficients, (Σc²)² / Σc⁴: 1 when one atom
    carries it, k when k atoms carry it equally (NaN for a word with no atom)."""
    squared = codes.multiply(codes)
    first = np.asarray(squared.sum(axis=1)).ravel()
    second = np.asarray(squared.multiply(squared).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return first ** 2 / second


def activation_correlation(codes_a: sparse.csr_matrix, codes_b: sparse.csr_matrix) -> np.ndarray:
    """Pearson correlation of every atom of a with every atom of b over the same rows (words);
    0 where an atom never varies."""
    n = codes_a.shape[0]
    mean_a = np.asarray(codes_a.mean(axis=0)).ravel()
    mean_b = np.asarray(codes_b.mean(axis=0)).ravel()
    sd_a = np.sqrt(np.maximum(np.asarray(codes_a.multiply(codes_a).mean(axis=0)).ravel() - mean_a ** 2, 0))
    sd_b = np.sqrt(np.maximum(np.asarray(codes_b.multiply(codes_b).mean(axis=0)).ravel() - mean_b ** 2, 0))
    covariance = (codes_a.T @ codes_b).toarray() / n - np.outer(mean_a, mean_b)
    scale = np.outer(sd_a, sd_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, covariance / scale, 0.0)


class Matching(NamedTuple):
    atoms_a: np.ndarray  # matched one to one (Hungarian), as many as the smaller dictionary has
    atoms_b: np.ndarray
    values: np.ndarray  # |similarity| of each matched pair
    best_b: np.ndarray  # for every atom of a, its best atom of b (not one to one)
    best_values: np.ndarray


def match(similarity: np.ndarray) -> Matching:
    """One-to-one matching that maximises the summed |similarity|, and each row's best column."""
    strength = np.abs(similarity)
    rows, columns = linear_sum_assignment(strength, maximize=True)
    best = strength.argmax(axis=1)
    return Matching(rows, columns, strength[rows, columns], best, strength[np.arange(strength.shape[0]), best])


def decoder_cosines(dictionary_a: np.ndarray, dictionary_b: np.ndarray) -> np.ndarray:
    """Cosine of every atom of a with every atom of b (same basis: two seeds of one run)."""
    return unit_rows(dictionary_a) @ unit_rows(dictionary_b).T


def match_both_ways(similarity: np.ndarray, keep_a: np.ndarray, keep_b: np.ndarray) -> tuple[Matching, Matching]:
    """The atoms ``keep_a`` of a matched one to one with every atom of b, and ``keep_b`` of b with
    every atom of a. Matching the two kept subsets with each other instead forces poor pairs where
    the subsets differ (which atoms pass a reproducibility cut varies from fit to fit), and made a
    run against its own rotation score 0.665 against a seed ceiling of 0.849 on GloVe; both ways,
    0.818 and 0.818."""
    return match(similarity[keep_a, :]), match(similarity[:, keep_b].T)


def both_ways_score(similarity: np.ndarray, keep_a: np.ndarray, keep_b: np.ndarray,
                    threshold: float) -> tuple[float, float]:
    """The mean of the two sides' mean matched |similarity| (each feature set counts once), and the
    mean number of atoms matched above ``threshold``."""
    from_a, from_b = match_both_ways(similarity, keep_a, keep_b)
    return (float((from_a.values.mean() + from_b.values.mean()) / 2),
            float((np.sum(from_a.values > threshold) + np.sum(from_b.values > threshold)) / 2))


def shuffled_matching_null(codes_a: sparse.csr_matrix, codes_b: sparse.csr_matrix, permutations: int, seed: int,
                           threshold: float, keep_a: np.ndarray | None = None,
                           keep_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The score of ``both_ways_score`` (every atom kept by default) and atoms matched above
    ``threshold`` with the word correspondence shuffled ``permutations`` times: what matching finds
    between unrelated features."""
    rng = np.random.default_rng(seed)
    keep_a = np.arange(codes_a.shape[1]) if keep_a is None else keep_a
    keep_b = np.arange(codes_b.shape[1]) if keep_b is None else keep_b
    means, above = [], []
    for _ in range(permutations):
        similarity = activation_correlation(codes_a, codes_b[rng.permutation(codes_b.shape[0])])
        mean, count = both_ways_score(similarity, keep_a, keep_b, threshold)
        means.append(mean)
        above.append(count)
    return np.array(means), np.array(above)


def spearman_with_null(x: np.ndarray, y: np.ndarray, permutations: int, seed: int) -> tuple[float, np.ndarray]:
    """Spearman's rho of x and y (scipy), and rho with y shuffled ``permutations`` times."""
    from scipy.stats import rankdata, spearmanr

    rho = float(spearmanr(x, y).statistic)
    rank_x, rank_y = rankdata(x), rankdata(y)  # Spearman's rho is Pearson's r of the (average) ranks
    rng = np.random.default_rng(seed)
    null = np.array([np.corrcoef(rank_x, rng.permutation(rank_y))[0, 1] for _ in range(permutations)])
    return rho, null


# Reproducible atoms. An overcomplete dictionary (1,000 atoms in 50 dimensions) is far from
# identifiable: two seeds of GloVe agree at a matched activation |r| of 0.16 (docs/methods.md,
# "Features"). Independent component analysis gives a complete basis that is identifiable up to
# order and sign where the sources are non-Gaussian (Comon 1994; Hyvärinen & Oja 2000), and on
# GloVe about two thirds of its components reappear in fits from other random starts at cosine
# > 0.95 (Musil & Mareček 2024 and Yamagiwa et al. 2023 read them as semantic axes). So atoms are
# the components of FastICA (scikit-learn), fitted ``fits`` times from independent random starts
# derived from the seed, as Icasso does (Himberg et al. 2004); each atom of the first fit is scored
# by how many of the other fits have it back (one-to-one, |cosine| >= ``REAPPEAR_COSINE``), and
# an atom found in more than half the fits is reproducible.
FITS = 6
REAPPEAR_COSINE = 0.95
ICA_ITERATIONS = 1_000  # FastICA's cap; a fit that stops there still gives its stable components


class Atoms(NamedTuple):
    dictionary: np.ndarray  # atoms x dim, unit rows, oriented so that the sources are right-skewed
    reproducibility: np.ndarray  # per atom: the share of the fits in which it appears (the first included)
    reappear_cosine: np.ndarray  # per atom: mean best |cosine| with the other fits' atoms (NaN for one fit)


def fit_components(x: np.ndarray, atoms: int, random_state: int, iterations: int = ICA_ITERATIONS) -> np.ndarray:
    """``atoms`` independent components of the rows ``x`` (FastICA, unit-variance whitening): their
    unit mixing directions (atoms x dim), each oriented so that its source is right-skewed."""
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning

    model = FastICA(n_components=atoms, whiten="unit-variance", random_state=random_state, max_iter=iterations,
                    tol=1e-4)
    with warnings.catch_warnings():  # a fit at the cap is judged by its reproducibility, not warned about
        warnings.simplefilter("ignore", ConvergenceWarning)
        sources = model.fit_transform(x)
    signs = np.where((sources ** 3).mean(axis=0) < 0, -1.0, 1.0)
    return unit_rows(model.mixing_.T * signs[:, None])


def fit_seeds(seed: int, fits: int) -> list[int]:
    """The random starts of a feature set's fits: independent for different seeds, the same for one."""
    return [int(value) for value in np.random.default_rng([seed, fits]).integers(0, 2**31 - 1, size=fits)]


def fit_reproducible_atoms(x: np.ndarray, atoms: int, seed: int, fits: int = FITS,
                           progress=lambda done, total: None) -> Atoms:
    """Components fitted ``fits`` times from independent starts. Each component of the first fit is
    matched one to one (|cosine|) with every other fit's; the atom is the mean of the (sign-aligned)
    components that reappear at |cosine| >= ``REAPPEAR_COSINE`` (averaging out each start's noise,
    as consensus NMF averages its clusters: Kotliar et al. 2019), scored by the share of fits in which
    it appears."""
    found = []
    for done, random_state in enumerate(fit_seeds(seed, fits)):
        found.append(fit_components(x, atoms, random_state))
        progress(done + 1, fits)
    reference = found[0]
    best = np.ones((fits, reference.shape[0]))
    summed = reference.copy()
    for other, components in enumerate(found[1:], start=1):
        cosines = decoder_cosines(reference, components)
        matching = match(cosines)
        best[other, matching.atoms_a] = matching.values
        back = matching.values >= REAPPEAR_COSINE
        signs = np.sign(cosines[matching.atoms_a, matching.atoms_b])[back, None]
        summed[matching.atoms_a[back]] += signs * components[matching.atoms_b[back]]
    return Atoms(unit_rows(summed), (best >= REAPPEAR_COSINE).mean(axis=0),
                 best[1:].mean(axis=0) if fits > 1 else np.full(reference.shape[0], np.nan))


def reproducible(reproducibility: np.ndarray) -> np.ndarray:
    """Atoms found in more than half the fits (NaN, a dictionary fitted once: every atom)."""
    return np.where(np.isnan(reproducibility), True, reproducibility > 0.5)


def top_by_projection(unit: np.ndarray, dictionary: np.ndarray, n_top: int,
                      block: int = 16_384) -> tuple[np.ndarray, np.ndarray]:
    """Each atom's ``n_top`` rows of ``unit`` with the largest projection x·atom, largest first
    (atoms x n_top) and those projections: the words an atom points at, however OMP shares them out.
    Read this way, matched atoms of two GloVe seeds share far more of their top words than read by
    their OMP activations (docs/methods.md)."""
    n_top = min(n_top, unit.shape[0])
    best_rows = np.zeros((dictionary.shape[0], 0), dtype=np.int64)
    best_values = np.zeros((dictionary.shape[0], 0))
    for start in range(0, unit.shape[0], block):
        values = np.concatenate([best_values, dictionary @ unit[start:start + block].T], axis=1)
        rows = np.concatenate([best_rows, np.broadcast_to(np.arange(start, start + min(block, unit.shape[0] - start)),
                                                          (dictionary.shape[0], min(block, unit.shape[0] - start)))], axis=1)
        keep = np.argpartition(-values, n_top - 1, axis=1)[:, :n_top]
        best_values, best_rows = np.take_along_axis(values, keep, 1), np.take_along_axis(rows, keep, 1)
    order = np.lexsort((best_rows, -best_values), axis=1)  # ties by row: the more frequent word first
    return np.take_along_axis(best_rows, order, 1), np.take_along_axis(best_values, order, 1)


def top_word_jaccard(top_a: list[set], top_b: list[set], atoms_a: np.ndarray, atoms_b: np.ndarray) -> float:
    """Mean Jaccard index of the top words of matched atoms (NaN for no pair)."""
    shares = [len(top_a[a] & top_b[b]) / len(top_a[a] | top_b[b]) for a, b in zip(atoms_a, atoms_b)
              if top_a[a] | top_b[b]]
    return float(np.mean(shares)) if shares else float("nan")
