"""Writing a finished run: one short transaction, so the file is held for seconds and a failure or
a kill leaves no half run."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from polyuni_db.errors import PolyuniError
from polyuni_db.store.db import DEFAULT_LOCK_TIMEOUT, sqlalchemy_connection, upgrade
from polyuni_db.store.features import delete_feature_sets
from polyuni_db.store.rows import hold_for_fault_tests, insert_rows
from polyuni_db.store.schema import (
    FINDINGS_TABLES,
    PSEUDOWORD_MEASURES,
    FeatureSet,
    MlflowExperiment,
    PseudowordAlignment,
    Run,
    Similarity,
    Study,
    StudyRun,
    UnavailableSource,
    VerdictInterval,
)
from polyuni_db.store.vectors import discard_vectors


@dataclass(frozen=True)
class Existing:
    """What the database already holds for a label or a fingerprint."""

    run_id: int
    label: str
    fingerprint: str


@dataclass(frozen=True)
class WriteOutcome:
    run_id: int
    action: str  # 'ingested' | 'replaced' | 'skipped'
    label: str


def _existing(connection: sa.Connection, label: str, fingerprint: str) -> tuple[Existing | None, Existing | None]:
    """(the complete run with this fingerprint, the run that has this label)."""
    rows = connection.execute(
        sa.select(Run.run_id, Run.label, Run.fingerprint, Run.status).where(
            sa.or_(Run.label == label, Run.fingerprint == fingerprint)
        )
    ).all()
    same = next((Existing(*row[:3]) for row in rows if row.fingerprint == fingerprint and row.status == "complete"), None)
    named = next((Existing(*row[:3]) for row in rows if row.label == label), None)
    return same, named


def decide(label: str, fingerprint: str, same: Existing | None, named: Existing | None, force: bool) -> str | None:
    """'skip' when this exact run is stored, else None; a label taken by other vectors is an error,
    and so is forcing a run whose fingerprint another label holds (``--force`` replaces one label only)."""
    if force:
        if same is not None and same.label != label:
            raise PolyuniError(
                f"these vectors and settings are already stored as {same.label!r} (run {same.run_id}); "
                f"--force replaces only the run labelled {label!r}: use --force with --label {same.label}"
            )
        return None
    if same is not None:
        return "skip"
    if named is not None:
        raise PolyuniError(
            f"label {label!r} already belongs to another run (fingerprint {named.fingerprint[:12]}, "
            f"this one {fingerprint[:12]}): choose another --label, or --force to replace it"
        )
    return None


def stored_run(path: Path, label: str, fingerprint: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
               force: bool = False) -> Existing | None:
    """Before any work: the stored run this one would repeat, if any (None when forced). Raises on a
    label conflict."""
    if not path.exists():
        return None
    with sqlalchemy_connection(path, read_only=True, lock_timeout=lock_timeout) as connection:
        if not sa.inspect(connection).has_table("runs"):
            return None
        same, named = _existing(connection, label, fingerprint)
        return same if decide(label, fingerprint, same, named, force) == "skip" else None


def _delete_run(connection: sa.Connection, run_id: int) -> None:
    for table in FINDINGS_TABLES:
        connection.execute(sa.text(f"DELETE FROM {table} WHERE run_id = :run_id"), {"run_id": run_id})
    # comparisons with the old vectors no longer hold
    connection.execute(sa.delete(Similarity).where(sa.or_(Similarity.run_a == run_id, Similarity.run_b == run_id)))
    # so do the dictionaries learnt on them
    delete_feature_sets(connection, list(connection.execute(
        sa.select(FeatureSet.feature_set_id).where(FeatureSet.run_id == run_id)).scalars()))
    # nor does recovery measured against them as a reference
    _delete_pseudoword_measures(connection, sa.select(PseudowordAlignment.run_id).where(
        PseudowordAlignment.reference_run_id == run_id))
    connection.execute(sa.delete(Run).where(Run.run_id == run_id))


def _insert_findings(connection: sa.Connection, run_id: int, findings: dict[str, pa.Table]) -> None:
    for table in FINDINGS_TABLES:
        rows = findings.get(table)
        if rows is not None and rows.num_rows:
            insert_rows(connection, table, run_id, rows)


def write_run(
    path: Path,
    run: dict,
    findings: dict[str, pa.Table],
    force: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> WriteOutcome:
    """Store a run and its findings; ``run`` holds the ``runs`` columns other than run_id and status."""
    label, fingerprint = run["label"], run["fingerprint"]
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            same, named = _existing(connection, label, fingerprint)
            if decide(label, fingerprint, same, named, force) == "skip":
                return WriteOutcome(same.run_id, "skipped", same.label)
            # only the run with this label is replaced (decide() refused a fingerprint held by another)
            replaced_vectors = None
            if named is not None:
                replaced_vectors = connection.execute(
                    sa.select(Run.vectors_path).where(Run.run_id == named.run_id)).scalar_one()
                _delete_run(connection, named.run_id)
                run_id = named.run_id
            else:
                run_id = connection.execute(sa.select(sa.func.coalesce(sa.func.max(Run.run_id), 0) + 1)).scalar_one()
            connection.execute(sa.insert(Run).values(run_id=run_id, status="writing", **run))
            _insert_findings(connection, run_id, findings)
            hold_for_fault_tests()
            connection.execute(sa.update(Run).where(Run.run_id == run_id).values(status="complete"))
            connection.execute(sa.delete(UnavailableSource).where(UnavailableSource.label == label))
            still_used = connection.execute(
                sa.select(sa.func.count()).select_from(Run).where(Run.vectors_path == replaced_vectors)).scalar_one()
    if replaced_vectors and not still_used:
        discard_vectors(path, replaced_vectors)
    return WriteOutcome(run_id, "replaced" if named is not None else "ingested", label)


def _delete_pseudoword_measures(connection: sa.Connection, run_ids) -> None:
    """Fits, instrument rows and alignment of the given runs (a list of ids, or a SELECT of them);
    the alignment last, since the SELECT may read it."""
    for table in PSEUDOWORD_MEASURES:
        rows = sa.table(table, sa.column("run_id"))
        connection.execute(rows.delete().where(rows.c.run_id.in_(run_ids)))


def write_similarity(path: Path, rows: list[dict], lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Store similarity rows in one transaction, each replacing the row of its pair and metric."""
    from polyuni_db.store.schema import Similarity

    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            for row in rows:
                connection.execute(sa.delete(Similarity).where(
                    Similarity.run_a == row["run_a"], Similarity.run_b == row["run_b"],
                    Similarity.metric == row["metric"]))
            if rows:
                connection.execute(sa.insert(Similarity), rows)


def write_pseudoword_recovery(path: Path, run_id: int, tables: dict[str, pa.Table],
                              lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Replace a run's pseudowords and their measures (tables named as in the schema) in one transaction."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.text("DELETE FROM pseudowords WHERE run_id = :run_id"), {"run_id": run_id})
            _delete_pseudoword_measures(connection, [run_id])
            for table, rows in tables.items():
                if rows.num_rows:
                    insert_rows(connection, table, run_id, rows)


def write_pseudoword_instrument(path: Path, run_id: int, instrument: str, rows: pa.Table,
                                lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Replace one instrument's rows of a run in ``pseudoword_instruments`` (one transaction): for an
    instrument measured after the run, e.g. once feature sets exist."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.text("DELETE FROM pseudoword_instruments WHERE run_id = :run_id "
                                       "AND instrument = :instrument"), {"run_id": run_id, "instrument": instrument})
            if rows.num_rows:
                insert_rows(connection, "pseudoword_instruments", run_id, rows)


def set_mlflow(path: Path, run_id: int, mlflow_run_id: str | None, status: str,
               lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection, connection.begin():
        connection.execute(
            sa.update(Run).where(Run.run_id == run_id).values(mlflow_run_id=mlflow_run_id, mlflow_status=status)
        )


def record_unavailable(path: Path, label: str, requested: str, reason: str,
                       lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Remember that a run could not be had, until a later ingest of that label succeeds."""
    from datetime import datetime, timezone

    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.delete(UnavailableSource).where(UnavailableSource.label == label))
            connection.execute(sa.insert(UnavailableSource).values(
                label=label, requested=requested, reason=reason,
                attempted_at=datetime.now(timezone.utc).replace(tzinfo=None),
            ))


def record_experiment(path: Path, name: str, experiment_id: str,
                      lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """The MLflow experiment the database logged to: where it logs next when none is chosen."""
    from datetime import datetime, timezone

    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.delete(MlflowExperiment))
            connection.execute(sa.insert(MlflowExperiment).values(
                experiment_name=name, experiment_id=experiment_id,
                recorded_at=datetime.now(timezone.utc).replace(tzinfo=None)))


def record_study(path: Path, study: dict, runs: dict[int, bool], lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> int:
    """Store a finished study or sweep (the ``studies`` columns other than study_id) and its runs
    (run id -> reused); returns its study_id."""
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            study_id = connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(Study.study_id), 0) + 1)).scalar_one()
            connection.execute(sa.insert(Study).values(study_id=study_id, **study))
            if runs:
                connection.execute(sa.insert(StudyRun), [
                    {"study_id": study_id, "run_id": run_id, "reused": reused} for run_id, reused in runs.items()])
    return study_id


def set_study_mlflow(path: Path, study_id: int, mlflow_run_id: str | None, status: str,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection, connection.begin():
        connection.execute(sa.update(Study).where(Study.study_id == study_id).values(
            mlflow_run_id=mlflow_run_id, mlflow_status=status))


def write_verdict_intervals(path: Path, rows: list[dict], lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
    """Replace every verdict interval (rows as in ``verdict_intervals``) in one transaction."""
    from datetime import datetime, timezone

    created_at = datetime.now(timezone.utc).replace(tzinfo=None)
    with sqlalchemy_connection(path, lock_timeout=lock_timeout) as connection:
        upgrade(connection)
        with connection.begin():
            connection.execute(sa.delete(VerdictInterval))
            if rows:
                connection.execute(sa.insert(VerdictInterval), [{**row, "created_at": created_at} for row in rows])
