"""Corpora to train on, by name or path: the study's minimal corpora, NLTK's, gensim's bundled ones,
or a text file with one sentence per line and whitespace tokens."""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyuni_db.errors import PolyuniError
from polyuni_db.sources.base import Progress, no_progress

@dataclass(frozen=True)
class Pseudoword:
    """One planted token and the two words it replaced, with their counts in the original corpus."""

    token: str
    word_a: str
    word_b: str
    count_a: int
    count_b: int


@dataclass(frozen=True)
class Corpus:
    """Tokenised sentences, with a digest of their content for the run's fingerprint.

    A transformed corpus (pseudowords planted, see ``sources.pseudowords``) keeps the corpus it was
    made from in ``base``, what was done in ``transform`` (part of the spec) and the planted words.
    """

    name: str
    sentences: list[list[str]]
    tokenizer: str
    transform: dict | None = None
    base: Corpus | None = None
    pseudowords: tuple[Pseudoword, ...] = ()

    def digest(self) -> str:
        hasher = hashlib.sha256()
        for sentence in self.sentences:
            hasher.update(" ".join(sentence).encode("utf-8"))
            hasher.update(b"\n")
        return hasher.hexdigest()

    def spec(self) -> dict:
        spec = {"name": self.name, "tokenizer": self.tokenizer, "sha256": self.digest()}
        if self.transform is not None:  # absent otherwise: untransformed runs keep their fingerprints
            spec["transform"] = self.transform
        return spec

    @property
    def n_tokens(self) -> int:
        return sum(len(sentence) for sentence in self.sentences)

    def vocabulary(self, min_count: int) -> tuple[list[str], np.ndarray]:
        """Words counted at least ``min_count`` times, most frequent first (ties in order of first
        occurrence), and their counts: the vocabulary every algorithm trained here starts from."""
        counts = Counter(token for sentence in self.sentences for token in sentence)
        kept = [(word, count) for word, count in counts.items() if count >= min_count]
        kept.sort(key=lambda item: -item[1])  # stable: ties keep their first-occurrence order
        return [word for word, _ in kept], np.array([count for _, count in kept], dtype=np.int64)


def _sentences(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().split("|")]


_CORPUS_CAPITAL_SMALL = (
    "Paris Capital|Rome Capital|Rome Italy|Paris France|Italy Country|France Country"
)
# The minimal corpora of the original study; "|" separates sentences.
MINIMAL_CORPORA = {
    "corpus_2": "One|Two",
    "corpus_3": "One|Two|Three",
    "corpus_4": "One|Two|Three|Four",
    "corpus_5": "One|Two|Three|Four|Five",
    "corpus_bark": "Dog Bark|Tree Bark|Dog Sound Bark|Tree Sound Creak",
    "corpus_translate": (
        "Tak Yes Polish|Nie No Polish|Oui Yes French|Non No French|Ja Yes German|Nein No German"
    ),
    "corpus_food": (
        "Dog|Cat|Rabbit|Fish|Dog Fish|Cat Fish|Cat and Dog|Chips|Fish and Chips|Burger|"
        "Burger and Chips|Burger Dinner|Fish Dinner|Chips Dinner|Rabbit Pet|Fish Pet|Cat Pet|Dog Pet"
    ),
    "corpus_capital_small": _CORPUS_CAPITAL_SMALL,
    "corpus_capital": _CORPUS_CAPITAL_SMALL + (
        "|England Country|London England|London Capital|Cardiff Wales|Wales Country|"
        "Cardiff Capital|Madrid Spain|Madrid Capital|Spain Country|Edinburgh Scotland|"
        "Scotland Country|Edinburgh Capital|Greece Athens|Athens Capital|Greece Country"
    ),
}

NLTK_CORPORA = ("brown", "abc", "movie_reviews", "state_union", "webtext", "inaugural")
GENSIM_CORPORA = {"lee_background": "lee_background.cor", "head500": "head500.noblanks.cor"}
# A token made only of these ends a sentence in corpora that NLTK ships without sentence breaks.
_SENTENCE_END = re.compile(r"^[.!?]+$")


def _nltk_reader(name: str):
    """An NLTK corpus reader, downloading the corpus once if it is missing."""
    import nltk

    reader = getattr(nltk.corpus, name)
    try:
        reader.ensure_loaded()
    except LookupError:
        # print_error_to: its default is the sys.stderr of import time, which no redirect reaches
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            fetched = nltk.download(name, quiet=True, raise_on_error=False, print_error_to=io.StringIO())
        if not fetched:
            raise PolyuniError(
                f"NLTK corpus {name!r} is not installed and nltk.download({name!r}) failed; "
                f"run `python -m nltk.downloader {name}` where there is internet, "
                "or set NLTK_DATA to a folder that holds it"
            ) from None
        reader = getattr(nltk.corpus, name)
    return reader


def _split_at_sentence_ends(tokens) -> list[list[str]]:
    sentences, current = [], []
    for token in tokens:
        current.append(token)
        if _SENTENCE_END.match(token):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _load_nltk(name: str, progress: Progress = no_progress) -> Corpus:
    reader = _nltk_reader(name)
    fileids = reader.fileids()
    sentences = []
    for done, fileid in enumerate(fileids, start=1):  # file by file, in NLTK's order, to show progress
        if name == "brown":
            sentences.extend(list(sentence) for sentence in reader.sents(fileid))
        else:
            # These readers need the punkt model for sentences, which is not part of the corpora: split
            # each file's NLTK word tokens at sentence-final punctuation, the same on every machine.
            sentences.extend(_split_at_sentence_ends(reader.words(fileid)))
        progress(done, len(fileids), f"reading {name}")
    return Corpus(name, sentences, "nltk brown sentences" if name == "brown" else "nltk words split at . ! ?")


def _load_gensim_bundled(name: str) -> Corpus:
    from gensim.test.utils import datapath
    from gensim.utils import simple_preprocess

    with open(datapath(GENSIM_CORPORA[name]), encoding="utf-8") as handle:
        sentences = [simple_preprocess(line) for line in handle]
    # gensim's own tutorials tokenise its bundled corpora with simple_preprocess.
    return Corpus(name, [s for s in sentences if s], "gensim simple_preprocess")


def read_text_corpus(path: Path) -> Corpus:
    """One sentence per line, tokens separated by white space."""
    sentences = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise PolyuniError(f"{path} is not UTF-8 text (line {number})") from None
            if tokens := line.split():
                sentences.append(tokens)
    return Corpus(path.stem, sentences, "whitespace")


def corpus_names() -> list[str]:
    return [*MINIMAL_CORPORA, *NLTK_CORPORA, *GENSIM_CORPORA]


def load_corpus(name_or_path: str, lowercase: bool = False, progress: Progress = no_progress) -> Corpus:
    """A corpus by name (see ``corpus_names()``) or by the path of a text file; reading an NLTK corpus
    reports its files through ``progress``."""
    if name_or_path in MINIMAL_CORPORA:
        corpus = Corpus(name_or_path, _sentences(MINIMAL_CORPORA[name_or_path]), "minimal")
    elif name_or_path in NLTK_CORPORA:
        corpus = _load_nltk(name_or_path, progress)
    elif name_or_path in GENSIM_CORPORA:
        corpus = _load_gensim_bundled(name_or_path)
    elif Path(name_or_path).is_file():
        corpus = read_text_corpus(Path(name_or_path))
    else:
        raise PolyuniError(
            f"corpus {name_or_path!r} not found: give a file path or one of {', '.join(corpus_names())}"
        )
    if not corpus.sentences:
        raise PolyuniError(f"corpus {name_or_path!r} is empty")
    if lowercase:
        corpus = Corpus(
            corpus.name,
            [[token.lower() for token in sentence] for sentence in corpus.sentences],
            corpus.tokenizer + ", lowercased",
        )
    return corpus
