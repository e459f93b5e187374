"""Writing feature sets and feature matches: each in one short transaction, so a failure or a kill
leaves no half feature set."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import sqlalchemy as sa

from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, connect, sqlalchemy_connection, upgrade
from polyuni_db.store.rows import hold_for_fault_tests, insert_rows
from polyuni_db.store.schema import (
    FEATURE_SET_TABLES,
    FeatureMatch,
    FeatureMatchScore,
    FeatureSet,
    WordnetSense,
)


def stored_feature_set(path: Path, fingerprint: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int | None:
    """The complete feature set with this fingerprint, if any (before any work)."""
    if not path.exists():
        return None
    with sqlalchemy_connection(path, read_only=True, lock_timeout=lock_timeout) as connection:
        if not sa.inspect(connection).has_table("feature_sets"):
            return None
        return connection.execute(sa.select(FeatureSet.feature_set_id).where(
            FeatureSet.fingerprint == fingerprint, FeatureSet.status == "complete")).scalar()


def delete_feature_sets(connection: sa.Connection, ids: list[int]) -> None:
    """Feature sets with their rows and every match they take part in."""
    if not ids:
        return
    for model in (FeatureMatch, FeatureMatchScore):
        connection.execute(sa.delete(model).where(sa.or_(model.feature_set_a.in_(ids), model.feature_set_b.in_(ids))))
    for table in FEATURE_SET_TABLES:
        connection.execute(sa.text(f"DELETE FROM {table} WHERE feature_set_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {"ids": ids})
    connection.execute(sa.delete(FeatureSet).where(FeatureSet.feature_set_id.in_(ids)))


class Written(NamedTuple):
    feature_set_id: int
    replaced: list[int]  # feature sets of the same fingerprint this one replaced
    removed_matches: list[dict]  # their matches with other feature sets: feature_set_a, feature_set_b, parameters
    stored_meanwhile: bool  # not written: another process stored this fingerprint since the check


def write_feature_set(path: Path, row: dict, tables: dict[str, pa.Table], senses: pa.Table, replace: bool,
                      lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Written:
    """Store a feature set (``row``: its feature_sets columns but id and status) and its rows;
    WordNet lemmas not yet stored are added. A complete set with the same fingerprint is replaced
    only when ``replace`` (then with the matches it took part in); otherwise it was stored by another
    process since the caller looked, and is kept: two runs never silently replace each other."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            old = list(connection.execute(sa.select(FeatureSet.feature_set_id, FeatureSet.status).where(
                FeatureSet.fingerprint == row["fingerprint"])))
            complete = [feature_set_id for feature_set_id, status in old if status == "complete"]
            if complete and not replace:
                return Written(complete[0], [], [], True)
            ids = [feature_set_id for feature_set_id, _ in old]
            removed = [dict(zip(("feature_set_a", "feature_set_b", "parameters"), found)) for found in connection.execute(
                sa.select(FeatureMatchScore.feature_set_a, FeatureMatchScore.feature_set_b, FeatureMatchScore.parameters)
                .where(sa.or_(FeatureMatchScore.feature_set_a.in_(ids), FeatureMatchScore.feature_set_b.in_(ids))))]
            delete_feature_sets(connection, ids)
            feature_set_id = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(FeatureSet.feature_set_id), 0) + 1)).scalar_one()
            connection.execute(sa.insert(FeatureSet).values(feature_set_id=feature_set_id, status="writing", **row))
            for table in FEATURE_SET_TABLES:
                if tables[table].num_rows:
                    insert_rows(connection, table, feature_set_id, tables[table], key="feature_set_id")
            duck = connection.connection.driver_connection
            duck.register("incoming_senses", senses)
            try:
                duck.execute(f"INSERT INTO {WordnetSense.__tablename__} SELECT * FROM incoming_senses "
                             "WHERE word NOT IN (SELECT word FROM wordnet_senses)")
            finally:
                duck.unregister("incoming_senses")
            hold_for_fault_tests()
            connection.execute(sa.update(FeatureSet).where(FeatureSet.feature_set_id == feature_set_id)
                               .values(status="complete"))
    return Written(feature_set_id, complete, removed, False)


def stored_match(path: Path, set_a: int, set_b: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict | None:
    """The parameters of the stored match of these two feature sets, if any."""
    with sqlalchemy_connection(path, read_only=True, lock_timeout=lock_timeout) as connection:
        return connection.execute(sa.select(FeatureMatchScore.parameters).where(
            FeatureMatchScore.feature_set_a == set_a, FeatureMatchScore.feature_set_b == set_b)).scalar()


def write_match(path: Path, score: dict, matches: list[dict], lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Store two feature sets' matching (replacing an earlier one of the same pair: the caller asked)."""
    a, b = score["feature_set_a"], score["feature_set_b"]
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            for model in (FeatureMatch, FeatureMatchScore):
                connection.execute(sa.delete(model).where(model.feature_set_a == a, model.feature_set_b == b))
            connection.execute(sa.insert(FeatureMatchScore).values(**score))
            connection.execute(sa.insert(FeatureMatch), matches)


def _one_feature_set(path: Path, where: str, parameters: list, lock_timeout: float) -> dict | None:
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        result = connection.execute(f"SELECT * FROM feature_sets WHERE status = 'complete' AND {where} "
                                    "ORDER BY feature_set_id DESC LIMIT 1", parameters)
        found = result.fetchone()
        return None if found is None else dict(zip([c[0] for c in result.description], found))
    finally:
        connection.close()


def feature_set_rows(path: Path, run_id: int, method: str, atoms: int, nonzero: int, words: int, seed: int,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict | None:
    """The complete feature set of a run with these settings, as a dict of its columns."""
    return _one_feature_set(path, "run_id = ? AND method = ? AND atoms = ? AND nonzero = ? AND words = ? AND seed = ?",
                            [run_id, method, atoms, nonzero, words, seed], lock_timeout)


def feature_set_by_id(path: Path, feature_set_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict:
    return _one_feature_set(path, "feature_set_id = ?", [feature_set_id], lock_timeout)


def read_codes(path: Path, feature_set_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> pa.Table:
    """Every nonzero code of a feature set: word, atom, coefficient."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        return connection.execute("SELECT word, atom, coefficient FROM word_features WHERE feature_set_id = ?",
                                  [feature_set_id]).to_arrow_table()
    finally:
        connection.close()


def read_reproducible(path: Path, feature_set_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> list[int]:
    """The atoms of a feature set found in more than half its fits (every atom of a set fitted once)."""
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        return [atom for (atom,) in connection.execute(
            "SELECT atom FROM atom_scores WHERE feature_set_id = ? AND coalesce(reproducibility > 0.5, true) "
            "ORDER BY atom", [feature_set_id]).fetchall()]
    finally:
        connection.close()


def read_top_words(path: Path, feature_set_id: int, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict[int, set[str]]:
    connection = connect(path, read_only=True, lock_timeout=lock_timeout)
    try:
        rows = connection.execute("SELECT atom, word FROM features WHERE feature_set_id = ?", [feature_set_id]).fetchall()
    finally:
        connection.close()
    found: dict[int, set[str]] = {}
    for atom, word in rows:
        found.setdefault(atom, set()).add(word)
    return found
