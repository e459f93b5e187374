"""The kernels against gensim's most_similar and against hand-computed values; no database."""
from __future__ import annotations

import numpy as np
import pytest

from polyuni_db.analysis.dimension_words import dimension_words
from polyuni_db.analysis.geometry import pair_geometry
from polyuni_db.analysis.neighbours import difference_neighbours
from polyuni_db.analysis.ranking import row_norms
from polyuni_db.analysis.word_stats import relative_movement, was_trained


def gensim_axis_query(keyed, dimension: int, pole: str) -> list[tuple[str, float]]:
    """The original notebook's query: zero except the column's largest magnitude at the dimension,
    pointing along +e_d for 'max' and -e_d for 'min'. (Taken literally, the notebook's column max is
    negative for some columns of small trained models, and its query then points along -e_d.)"""
    column = keyed.vectors[:, dimension]
    query = np.zeros(keyed.vector_size, dtype=np.float32)
    magnitude = np.abs(column).max()
    query[dimension] = magnitude if pole == "max" else -magnitude
    return keyed.most_similar(query, topn=10)


def test_dimension_words_equal_gensim_most_similar_on_glove(glove, glove_kv):
    ours = dimension_words(glove.vectors, top_k=10)
    for pole in ("max", "min"):
        for dimension in range(glove.dim):
            expected = gensim_axis_query(glove_kv, dimension, pole)
            words = [glove.words[i] for i in ours[pole].indices[dimension]]
            assert words == [word for word, _ in expected], (pole, dimension)
            np.testing.assert_allclose(
                ours[pole].similarities[dimension], [s for _, s in expected], rtol=0, atol=1e-6
            )


def test_dimension_words_equal_gensim_on_a_trained_model():
    from gensim.models import KeyedVectors

    from polyuni_db.sources.corpora import load_corpus
    from polyuni_db.sources.trained import TrainedSource

    model = TrainedSource(load_corpus("lee_background"), dim=20, seed=3).load()
    keyed = KeyedVectors(model.dim)
    keyed.add_vectors(model.words, model.vectors)
    ours = dimension_words(model.vectors, top_k=10)
    for pole in ("max", "min"):
        for dimension in range(model.dim):
            expected = [word for word, _ in gensim_axis_query(keyed, dimension, pole)]
            assert [model.words[i] for i in ours[pole].indices[dimension]] == expected


def test_blocks_do_not_change_the_answer(glove):
    vectors = np.asarray(glove.vectors[:5000])
    whole = dimension_words(vectors, top_k=7, chunk_rows=10_000)
    blocked = dimension_words(vectors, top_k=7, chunk_rows=333)
    for pole in ("max", "min"):
        np.testing.assert_array_equal(whole[pole].indices, blocked[pole].indices)
        np.testing.assert_array_equal(whole[pole].similarities, blocked[pole].similarities)


def test_hand_computed_dimension_words_and_unrankable_rows():
    vectors = np.array(
        [[3.0, 4.0], [1.0, 0.0], [0.0, 0.0], [np.nan, 1.0], [-1.0, -1.0], [0.0, -2.0]], dtype=np.float32
    )
    top = dimension_words(vectors, top_k=2)
    # dimension 0, +e_0: row 1 (cos 1), row 0 (cos 0.6); the zero and NaN rows never appear.
    assert top["max"].indices[0].tolist() == [1, 0]
    np.testing.assert_allclose(top["max"].similarities[0], [1.0, 0.6], atol=1e-7)
    # dimension 1, -e_1: row 5 (cos 1), row 4 (cos 1/sqrt 2).
    assert top["min"].indices[1].tolist() == [5, 4]
    np.testing.assert_allclose(top["min"].similarities[1], [1.0, 2 ** -0.5], atol=1e-7)
    with pytest.raises(ValueError, match="larger than the 4 rankable"):
        dimension_words(vectors, top_k=5)


def test_ties_go_to_the_earlier_word():
    vectors = np.array([[1.0, 0.0], [2.0, 0.0], [0.5, 0.5], [3.0, 0.0]], dtype=np.float32)
    assert dimension_words(vectors, top_k=3)["max"].indices[0].tolist() == [0, 1, 3]


def test_difference_neighbours_equal_gensim_most_similar(glove, glove_kv):
    pairs = [("squirrel", "phone"), ("potato", "square"), ("poland", "yoga"), ("king", "queen"), ("paris", "france")]
    index = {word: i for i, word in enumerate(glove.words)}
    ours = difference_neighbours(glove.vectors, row_norms(glove.vectors), [(index[a], index[b]) for a, b in pairs], 10)
    for row, (word_a, word_b) in enumerate(pairs):
        expected = glove_kv.most_similar(glove_kv[word_a] - glove_kv[word_b], topn=10)
        assert [glove.words[i] for i in ours.indices[row]] == [word for word, _ in expected]
        np.testing.assert_allclose(ours.similarities[row], [s for _, s in expected], atol=1e-6)


def test_pair_geometry_by_hand():
    geometry = pair_geometry(np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]]))
    got = {(int(i), int(j)): (c, a) for i, j, c, a in zip(*geometry)}
    assert got[(0, 1)] == pytest.approx((0.0, 90.0))
    assert got[(0, 2)] == pytest.approx((-1.0, 180.0))
    assert got[(1, 2)] == pytest.approx((0.0, 90.0))
    assert np.isnan(got[(0, 3)][0]) and np.isnan(got[(0, 3)][1])
    assert len(got) == 6


def test_relative_movement_is_zero_exactly_for_vectors_that_did_not_change():
    initial = np.array([[3.0, 4.0], [1.0, 0.0], [0.5, 0.5]])
    final = np.array([[3.0, 4.0], [1.0, 1e-12], [-0.5, -0.5]])
    moved = relative_movement(initial, final)
    np.testing.assert_allclose(moved, [0.0, 1e-12, 2.0])
    assert was_trained(moved).tolist() == [False, True, True]  # however small the change


@pytest.mark.parametrize("chunk_rows", [3, 7, 64, 10_000])
def test_many_ties_across_blocks_go_to_the_earlier_word(chunk_rows):
    """Small integer vectors tie often; the order must be score, then position, in every block size."""
    rng = np.random.default_rng(1)
    vectors = rng.integers(-2, 3, size=(300, 4)).astype(np.float32)
    vectors[rng.integers(0, 300, size=20)] = 0.0  # zero rows are never ranked
    norms = row_norms(vectors)
    cosines = np.where(norms[:, None] > 0, vectors / np.where(norms > 0, norms, 1)[:, None], np.nan)
    ours = dimension_words(vectors, top_k=9, chunk_rows=chunk_rows)
    for pole, sign in (("max", 1.0), ("min", -1.0)):
        for d in range(4):
            score = sign * cosines[:, d]
            candidates = np.flatnonzero(~np.isnan(score))
            expected = candidates[np.lexsort((candidates, -score[candidates]))][:9]
            assert ours[pole].indices[d].tolist() == expected.tolist(), (pole, d)


def test_threads_split_the_kernels_without_changing_a_word():
    """Blocks split across threads, top-k merged after: the same words, order and ties as one thread."""
    from polyuni_db.analysis.dimension_words import dimension_words
    from polyuni_db.analysis.neighbours import nearest
    from polyuni_db.analysis.ranking import row_norms

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((5_000, 7)).astype(np.float32)
    vectors[[100, 3_000, 4_500]] = np.eye(7, dtype=np.float32)[0] * np.array([[3], [5], [7]])  # ties across threads
    vectors[[5, 2_500]] = 0  # unrankable rows in two ranges
    norms = row_norms(vectors, chunk_rows=64, threads=1)
    assert np.array_equal(row_norms(vectors, chunk_rows=64, threads=3), norms)
    one = dimension_words(vectors, 12, norms, chunk_rows=64, threads=1)
    assert one["max"].indices[0, :3].tolist() == [100, 3_000, 4_500]  # cosine 1 each: the earlier row first
    for threads in (2, 3, 7):
        split = dimension_words(vectors, 12, norms, chunk_rows=64, threads=threads)
        for pole in one:
            assert np.array_equal(split[pole].indices, one[pole].indices)
            assert np.array_equal(split[pole].similarities, one[pole].similarities)
    queries = vectors[[10, 20]] - vectors[[30, 40]]
    single = nearest(vectors, norms, queries, 150, chunk_rows=64, threads=1)
    split = nearest(vectors, norms, queries, 150, chunk_rows=64, threads=3)
    assert np.array_equal(split.indices, single.indices)
    assert np.array_equal(split.similarities, single.similarities)
