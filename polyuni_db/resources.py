"""Where the Alembic migrations and the report's templates are: inside the package when installed from
a wheel (pyproject.toml maps the top-level folders, their only source, to ``polyuni_db/_resources/``),
else in the checkout beside the package (an editable install)."""
from __future__ import annotations

from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_resources"
CHECKOUT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = {"migrations": "migrations", "templates": "reports/templates"}


def resource_folder(name: str) -> Path:
    packaged = PACKAGED / name
    return packaged if packaged.is_dir() else CHECKOUT / SOURCE_FOLDERS[name]
