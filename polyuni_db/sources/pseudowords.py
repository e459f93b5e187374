"""Planted polysemy: a corpus in which two unrelated words a and b become one token ``a+b``
(Schütze 1992's pseudowords; Arora et al. 2018, TACL, the linearity assertion). The new token is a
polysemantic word whose two senses are known, so what each instrument recovers can be checked.

The transform belongs to the corpus: its settings and seed enter the corpus spec, hence the run's
fingerprint. Nothing here knows the database.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.corpora import Corpus, Pseudoword

DEFAULT_COUNT_RANGE = (50, 1_000)  # eligible words: seen often enough to be learned, not function words


def _check_pairs(pairs: list[tuple[str, str]], counts: Counter, corpus: str) -> None:
    seen: set[str] = set()
    for word_a, word_b in pairs:
        for word in (word_a, word_b):
            if counts[word] == 0:
                raise PolyuniError(f"--merge word {word!r} does not occur in corpus {corpus!r}")
            if word in seen:
                raise PolyuniError(f"word {word!r} is in two pseudoword pairs: each word may be merged once")
            seen.add(word)
        if (token := f"{word_a}+{word_b}") in counts:
            raise PolyuniError(f"pseudoword token {token!r} already occurs in corpus {corpus!r}")


def draw_pairs(counts: Counter, n: int, seed: int, count_range: tuple[int, int],
               exclude: set[str] = frozenset()) -> list[tuple[str, str]]:
    """``n`` disjoint pairs drawn at random (seeded) among the alphabetic words whose count lies in
    ``count_range`` (both ends included), in a fixed order so that a seed always gives the same pairs."""
    low, high = count_range
    if low > high:
        raise PolyuniError(f"--pseudoword-counts {low} {high}: the minimum is above the maximum")
    eligible = sorted(word for word, count in counts.items()
                      if low <= count <= high and word.isalpha() and word not in exclude)
    if len(eligible) < 2 * n:
        raise PolyuniError(f"{n} pseudowords need {2 * n} words counted {low} to {high} times; "
                           f"the corpus has {len(eligible)}: plant fewer or widen --pseudoword-counts")
    drawn = np.random.default_rng(seed).choice(len(eligible), size=2 * n, replace=False)
    return [(eligible[drawn[2 * i]], eligible[drawn[2 * i + 1]]) for i in range(n)]


def plant_pseudowords(corpus: Corpus, n: int = 0, seed: int = 1,
                      count_range: tuple[int, int] = DEFAULT_COUNT_RANGE,
                      merge: list[tuple[str, str]] = ()) -> Corpus:
    """The corpus with every occurrence of both words of each pair replaced by ``a+b``: the pairs
    given in ``merge`` (chosen by the user), then ``n`` pairs drawn at random among the other words."""
    if n < 0:
        raise PolyuniError(f"--pseudowords must be 0 or more, not {n}")
    if n == 0 and not merge:
        raise PolyuniError("nothing to plant: give --pseudowords N or --merge A:B")
    counts = Counter(token for sentence in corpus.sentences for token in sentence)
    merge = [tuple(pair) for pair in merge]
    _check_pairs(merge, counts, corpus.name)
    drawn = draw_pairs(counts, n, seed, count_range, {w for pair in merge for w in pair}) if n else []
    pairs = merge + drawn
    _check_pairs(pairs, counts, corpus.name)  # a drawn token could exist as a word of the corpus
    planted = tuple(Pseudoword(f"{a}+{b}", a, b, counts[a], counts[b]) for a, b in pairs)
    replace = {word: p.token for p in planted for word in (p.word_a, p.word_b)}
    sentences = [[replace.get(token, token) for token in sentence] for sentence in corpus.sentences]
    transform = {"kind": "pseudowords", "n": n, "seed": seed if n else None,
                 "counts": list(count_range) if n else None, "merge": [f"{a}:{b}" for a, b in merge]}
    return Corpus(planted_name(corpus.name, n, seed, merge), sentences, corpus.tokenizer,
                  transform=transform, base=corpus, pseudowords=planted)


def planted_name(name: str, n: int, seed: int, merge: list[tuple[str, str]] = ()) -> str:
    """``brown_pw30s1`` for 30 random pairs with seed 1; ``m`` and a digest of the pairs for --merge."""
    name += "_pw"
    if n:
        name += f"{n}s{seed}"
    if merge:
        name += "m" + hashlib.sha256(" ".join(f"{a}:{b}" for a, b in merge).encode()).hexdigest()[:6]
    return name
