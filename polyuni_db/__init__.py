"""polyuni-db: a findings database for polysemanticity and its universality in word embeddings."""
from polyuni_db.store.db import connect

__all__ = ["connect"]
