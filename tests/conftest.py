from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_NLTK = ROOT.parent / "shared" / "nltk_data"
if "NLTK_DATA" not in os.environ and SHARED_NLTK.is_dir():
    os.environ["NLTK_DATA"] = str(SHARED_NLTK)
# No test may reach for the network: MLflow goes to files under tmp_path unless a test says otherwise.
os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture(autouse=True)
def private_model_cache(tmp_path, monkeypatch):
    """Converted pretrained models go to each test's own folder, never the user's ~/.cache."""
    monkeypatch.setenv("POLYUNI_CACHE", str(tmp_path / "polyuni-cache"))


def nltk_has(corpus: str) -> bool:
    import nltk

    try:
        nltk.data.find(f"corpora/{corpus}.zip")
        return True
    except LookupError:
        return False


needs_brown = pytest.mark.skipif(
    not nltk_has("brown"), reason="NLTK's brown corpus is not under NLTK_DATA (../shared/nltk_data)"
)


@pytest.fixture(scope="session")
def glove():
    from polyuni_db.sources.pretrained import PretrainedSource

    return PretrainedSource("glove-wiki-gigaword-50").load()


@pytest.fixture(scope="session")
def glove_kv(glove):
    """The same vectors as gensim KeyedVectors, to check our kernels against most_similar."""
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(glove.dim)
    keyed.add_vectors(glove.words, np.asarray(glove.vectors))
    return keyed


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "findings.duckdb"
