"""Run bundles: one run's findings computed away from the database, as files.

A worker (a Dask task, or the ingesting process itself) loads or trains, analyses, and writes

    BUNDLES/fingerprint=<sha256>/run.json                       the runs columns, metadata, notes
    BUNDLES/fingerprint=<sha256>/vectors.npy                    the kept vectors (unless memory-mapped
                                                                 from a .npy that holds exactly them:
                                                                 then only the computing process knows it)
    BUNDLES/fingerprint=<sha256>/table=<name>/part-0.parquet    one findings table, without run_id

into a folder named ``.partial-...`` and publishes it with one atomic rename, so a folder named
``fingerprint=...`` is always complete. A bundle may come from a stranger: ``read_bundle`` checks
everything in it against the declared schema (``BundleContent``, the findings tables' Arrow schemas)
before anything else reads it. Workers never open the database: the committer
(``polyuni_db.store.bundles``) imports bundles one short transaction each. The ``key=value`` folder
names let DuckDB read every bundle directly with ``read_parquet(..., hive_partitioning=true)``.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import stat
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from tempfile import TemporaryDirectory
from time import perf_counter
from typing import Annotated, Any, Iterator, Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import ANALYSIS_TABLES, AnalysisSettings, analyse
from polyuni_db.runs.labels import label_problem, shown
from polyuni_db.sources.base import Progress, Source, no_progress
from polyuni_db.sources.training import MAX_DIM, MAX_SEED
from polyuni_db.store.schema import arrow_schema
from polyuni_db.store.vectors import memory_mapped_file

BUNDLE_PREFIX = "fingerprint="
PARTIAL_PREFIX = ".partial-"
RUN_FILE = "run.json"
VECTORS_FILE = "vectors.npy"
TABLE_PREFIX = "table="
PART_FILE = "part-0.parquet"
# 2: run.json checked against BundleContent, no vectors_file key, tables cast to the declared schemas
FORMAT_VERSION = 2
WORK_FOLDER_PREFIX = ".polyuni-"
MAX_RUN_FILE_BYTES = 1_000_000  # a run.json is a few kB; a larger one is not read


def fingerprint(parameters: dict) -> str:
    """SHA-256 of the canonical JSON of everything that determines a run's rows."""
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode("utf-8")).hexdigest()


def bundle_path(root: Path, fingerprint: str) -> Path:
    return Path(root) / f"{BUNDLE_PREFIX}{fingerprint}"


def find_bundles(root: Path) -> list[Path]:
    """The published bundles under ``root`` (a bundle folder itself, or a folder of them)."""
    root = Path(root)
    if root.name.startswith(BUNDLE_PREFIX):
        return [root]
    if not root.is_dir():
        raise PolyuniError(f"no bundle folder at {shown(root)}")
    return sorted(path for path in root.iterdir() if path.name.startswith(BUNDLE_PREFIX) and path.is_dir())


# --- the declared schema of run.json: used by the writer and the reader ---------------------------

def _checked_label(text: str) -> str:
    if problem := label_problem(text):
        raise ValueError(problem)
    return text


def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("holds control or other unprintable characters")
    return text


def _run_parameters(parameters: dict) -> dict:
    """What ``pipeline.run_identity`` hashes: the vectors' spec and the analysis' spec, nothing else."""
    if set(parameters) != {"vectors", "analysis"} or not all(isinstance(value, dict) for value in parameters.values()):
        raise ValueError("must be an object of two objects, vectors and analysis")
    return parameters


def _naive(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        raise ValueError("must be UTC without a time zone, as polyuni writes it")
    return moment


Label = Annotated[str, AfterValidator(_checked_label)]
Text = Annotated[str, Field(min_length=1, max_length=1_000), AfterValidator(_printable)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]  # an INTEGER column
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class BundledRun(BaseModel):
    """The ``runs`` columns a bundle carries (not run_id, status, vectors_path or the MLflow ones)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    label: Label
    fingerprint: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    source: Literal["pretrained", "file", "train", "control"]
    model_name: Text
    corpus: Text | None
    dim: Annotated[int, Field(ge=1, le=MAX_DIM)]
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None
    top_k: Annotated[int, Field(ge=1, le=2**31 - 1)]
    parameters: Annotated[dict[str, Any], AfterValidator(_run_parameters)]
    vocab_size: Annotated[int, Field(ge=1, le=2**31 - 1)]
    n_untrained: Count | None
    n_unrankable: Count
    mean_norm: Annotated[float, Field(allow_inf_nan=False)]
    load_seconds: Seconds
    analysis_seconds: Seconds
    created_at: Annotated[datetime, Field(strict=False), AfterValidator(_naive)]  # ISO text in the file


class BundleContent(BaseModel):
    """The whole of run.json."""

    model_config = ConfigDict(extra="forbid", strict=True)

    format: Literal[FORMAT_VERSION]
    run: BundledRun
    metadata: dict[str, Any]  # how the vectors were obtained (not part of the fingerprint)
    notes: list[Text]  # the pairs that could not be computed, and why
    compute_seconds: Seconds


def _schema_problem(error: ValidationError) -> str:
    """The first thing wrong, in one line: where, and what."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {shown(first['msg'])}{more}"


@dataclass(frozen=True)
class Bundle:
    """A published bundle, read back and checked."""

    path: Path
    run: dict  # the runs columns other than run_id, status, vectors_path and the MLflow ones
    metadata: dict  # how the vectors were obtained (not part of the fingerprint)
    notes: tuple[str, ...]  # the pairs that could not be computed, and why
    compute_seconds: float
    vectors_file: Path  # vectors.npy inside the bundle, or the file this process memory-mapped them from
    vectors_by_reference: bool  # vectors_file is that file (kept where it is), not the bundle's own

    @property
    def fingerprint(self) -> str:
        return self.run["fingerprint"]

    def tables(self, names: tuple[str, ...] | None = None) -> dict[str, pa.Table]:
        """The findings tables (those of ``names`` only, when given) as Arrow tables."""
        return {name: _read_table(self.path, name) for name in _table_names(self.path)
                if names is None or name in names}


class Published(NamedTuple):
    """What computing a run gives: its bundle's folder, and the .npy its vectors were memory-mapped
    from when the bundle holds no vectors.npy (known only to the process that computed it)."""

    folder: Path
    vectors_source: Path | None


def _refuse(path: Path, problem: str) -> PolyuniError:
    return PolyuniError(f"{shown(path)} is not a valid run bundle: {problem}")


def _entry(path: Path, kind: int) -> os.stat_result | None:
    """lstat of a bundle's entry, None when absent; anything but a plain file or folder (a symlink,
    a device) is refused: a bundle holds its own files."""
    try:
        entry = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _refuse(path.parent, f"cannot read {path.name} ({error.strerror})") from None
    if stat.S_IFMT(entry.st_mode) != kind:
        what = "a symbolic link" if stat.S_ISLNK(entry.st_mode) else "not a plain " + (
            "folder" if kind == stat.S_IFDIR else "file")
        raise _refuse(path.parent if path.name else path, f"{shown(path.name)} is {what}")
    return entry


def _table_names(path: Path) -> list[str]:
    """The bundle's table= folders, each one of the findings tables and holding one plain Parquet
    file; any other entry is refused."""
    names = []
    for entry in sorted(os.listdir(path)):
        if entry in (RUN_FILE, VECTORS_FILE):
            continue
        name = entry.removeprefix(TABLE_PREFIX)
        if not entry.startswith(TABLE_PREFIX) or name not in ANALYSIS_TABLES:
            raise _refuse(path, f"unexpected entry {shown(entry)} (a bundle holds run.json, vectors.npy and "
                          f"table= folders of {', '.join(ANALYSIS_TABLES)})")
        _entry(path / entry, stat.S_IFDIR)
        if os.listdir(path / entry) != [PART_FILE]:
            raise _refuse(path, f"{entry} must hold {PART_FILE} and nothing else")
        _entry(path / entry / PART_FILE, stat.S_IFREG)
        names.append(name)
    return names


def _table_file(path: Path, name: str) -> Path:
    return path / f"{TABLE_PREFIX}{name}" / PART_FILE


def _unreadable(path: Path, name: str, error: Exception) -> PolyuniError:
    return _refuse(path, f"table {name} cannot be read ({shown(str(error).splitlines()[0] if str(error) else type(error).__name__)})")


def _checked_rows(path: Path, name: str) -> int:
    """The table's number of rows, once its Arrow schema (from the Parquet footer, no data read) was
    found equal to the declared one: names, order, types, nullability."""
    expected = arrow_schema(name)
    try:
        metadata = pq.read_metadata(_table_file(path, name))
        schema = metadata.schema.to_arrow_schema()
    except (pa.ArrowException, OSError, ValueError) as error:
        raise _unreadable(path, name, error) from None
    if not schema.equals(expected, check_metadata=False):
        raise _refuse(path, f"table {name} has columns ({_columns(schema)}), not the declared ({_columns(expected)})")
    return metadata.num_rows


def _read_table(path: Path, name: str) -> pa.Table:
    """One table's rows (its schema was checked by ``read_bundle``); bytes that do not decode are refused."""
    try:
        table = pq.read_table(_table_file(path, name), schema=arrow_schema(name))
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise _unreadable(path, name, error) from None
    return table


def _columns(schema: pa.Schema) -> str:
    return ", ".join(f"{shown(field.name)} {field.type}{'' if field.nullable else ' not null'}" for field in schema)


def _check_vectors(path: Path, file: Path, run: dict) -> None:
    """The vectors are a float32 .npy of (vocabulary, dimensions), read without pickles."""
    try:
        vectors = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise _refuse(path, f"{file.name} is not a .npy array ({shown(str(error).splitlines()[0])})") from None
    if not isinstance(vectors, np.ndarray):
        raise _refuse(path, f"{file.name} is not a .npy array")
    expected = (run["vocab_size"], run["dim"])
    if vectors.dtype != np.float32 or vectors.shape != expected:
        raise _refuse(path, f"{file.name} holds {vectors.dtype} {vectors.shape}, not float32 {expected}")


def read_bundle(path: Path, vectors_source: Path | None = None) -> Bundle:
    """A bundle, checked before anything reads it further: run.json against ``BundleContent``, its
    fingerprint recomputed from its parameters and equal to the folder's name, every table's schema
    against the declared one (``Bundle.tables`` refuses rows that do not decode), the vectors a plain
    vectors.npy inside the folder of the right shape. Only
    ``vectors_source`` (given by the process that computed the bundle, never read from the bundle)
    may stand in for a missing vectors.npy. Anything else is refused in one line."""
    path = Path(path)
    _entry(path, stat.S_IFDIR)
    run_file = _entry(path / RUN_FILE, stat.S_IFREG)
    if run_file is None:
        raise _refuse(path, f"no {RUN_FILE}")
    if run_file.st_size > MAX_RUN_FILE_BYTES:
        raise _refuse(path, f"{RUN_FILE} is {run_file.st_size:,} bytes, more than a run.json holds")
    try:
        content = json.loads((path / RUN_FILE).read_bytes())
    except (OSError, ValueError, RecursionError) as error:
        raise _refuse(path, f"{RUN_FILE} is not JSON ({shown(str(error).splitlines()[0])})") from None
    if isinstance(content, dict) and content.get("format") != FORMAT_VERSION:
        raise _refuse(path, f"format {shown(repr(content.get('format')))}, where this polyuni-db reads format "
                      f"{FORMAT_VERSION}: compute the run again")
    try:
        checked = BundleContent.model_validate(content)
    except ValidationError as error:
        raise _refuse(path, f"{RUN_FILE} {_schema_problem(error)}") from None
    run = checked.run.model_dump()
    if fingerprint(run["parameters"]) != run["fingerprint"]:
        raise _refuse(path, "its fingerprint is not the hash of its parameters")
    if path.name != f"{BUNDLE_PREFIX}{run['fingerprint']}":
        raise _refuse(path, f"it holds run {run['fingerprint'][:12]}, not the one its name says")
    rows = {name: _checked_rows(path, name) for name in _table_names(path)}  # before any data is read
    if rows.get("word_stats") != run["vocab_size"]:
        raise _refuse(path, f"table word_stats must have a row for each of its {run['vocab_size']} words")
    own = path / VECTORS_FILE
    by_reference = _entry(own, stat.S_IFREG) is None
    if by_reference and vectors_source is None:
        raise _refuse(path, f"no {VECTORS_FILE} (the bundle of a memory-mapped pretrained model carries none, "
                      "and run.json may not name a file: ingest that model here instead)")
    vectors_file = Path(vectors_source) if by_reference else own
    _check_vectors(path, vectors_file, run)
    return Bundle(path, run, checked.metadata, tuple(checked.notes), checked.compute_seconds, vectors_file,
                  by_reference)


def _write(folder: Path, run: dict, tables: dict[str, pa.Table], vectors: np.ndarray, vectors_source: Path | None,
           metadata: dict, notes: tuple[str, ...], compute_seconds: float) -> None:
    content = {
        "format": FORMAT_VERSION,
        "run": {**run, "created_at": run["created_at"].isoformat()},
        "metadata": json.loads(json.dumps(metadata, default=str)),
        "notes": list(notes),
        "compute_seconds": compute_seconds,
    }
    try:  # what the reader will check: a run that breaks the schema fails here, in one line
        BundleContent.model_validate(content)
    except ValidationError as error:
        raise PolyuniError(f"run {shown(run['label'])} cannot be bundled: {_schema_problem(error)}") from None
    folder.mkdir(parents=True)
    if vectors_source is None:
        np.save(folder / VECTORS_FILE, np.asarray(vectors, dtype=np.float32))
    for name, table in tables.items():
        (folder / f"{TABLE_PREFIX}{name}").mkdir()
        pq.write_table(table.select(arrow_schema(name).names).cast(arrow_schema(name)),
                       folder / f"{TABLE_PREFIX}{name}" / PART_FILE)
    (folder / RUN_FILE).write_text(json.dumps(content, indent=1, allow_nan=False), encoding="utf-8")


def publish(root: Path, fingerprint: str, write) -> Path:
    """Run ``write(folder)`` on a private temporary folder, then rename it to the bundle's name.

    A kill leaves only a ``.partial-`` folder, which nothing reads. When another worker published
    the same fingerprint first (a task that ran twice), its bundle is kept: same fingerprint, same rows.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = bundle_path(root, fingerprint)
    partial = root / f"{PARTIAL_PREFIX}{fingerprint[:16]}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        write(partial)
        os.rename(partial, final)  # atomic; fails when the bundle exists (a non-empty folder)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return final


@contextmanager
def work_folder(db_path: Path, kind: str) -> Iterator[Path]:
    """A temporary folder beside the database for the bundles of one command (``kind``: bundle for
    an ingest, bundles for a sweep), removed at the end. Named by this process, so that the next
    command removes it when a kill (SIGKILL, SIGTERM) left it behind."""
    with TemporaryDirectory(prefix=f"{WORK_FOLDER_PREFIX}{kind}-{os.getpid()}-", dir=db_path.resolve().parent) as folder:
        yield Path(folder)


def remove_stale_work_folders(db_path: Path) -> None:
    """Remove the work folders (see ``work_folder``) of commands that were killed: those whose
    process is gone."""
    for folder in db_path.resolve().parent.glob(f"{WORK_FOLDER_PREFIX}*"):
        named = re.fullmatch(rf"{re.escape(WORK_FOLDER_PREFIX)}bundles?-(\d+)-.*", folder.name)
        if named and int(named[1]) != os.getpid() and not Path(f"/proc/{named[1]}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def remove_partials(root: Path, fingerprints: set[str]) -> None:
    """Remove what killed workers left of these runs' bundles (never a published bundle)."""
    root = Path(root)
    if not root.is_dir():
        return
    prefixes = tuple(f"{PARTIAL_PREFIX}{fingerprint[:16]}-" for fingerprint in fingerprints)
    for path in root.iterdir():
        if path.name.startswith(prefixes):
            shutil.rmtree(path, ignore_errors=True)


def pair_notes(pairs: pa.Table) -> tuple[str, ...]:
    """The pairs that could not be computed, and why, in one line each."""
    return tuple(
        f"{a}:{b} ({'missing ' + missing if missing else status})"
        for a, b, status, missing in zip(*pairs.to_pydict().values())
        if status != "computed"
    )


# The hash seed this process started with (Dask's nanny later sets PYTHONHASHSEED in the driver's
# environment to spawn its workers, which does not change the driver's own hashing).
STARTED_WITH_HASH_SEED = os.environ.get("PYTHONHASHSEED", "unset")


def process_record() -> dict:
    """What a reproducibility record says about the process that did the work. The same run may be
    computed by a Dask worker and committed by the driver, whose environments differ (Dask's nanny gives
    its workers PYTHONHASHSEED=6640 when the driver's is 0 or unset), so each records its own."""
    return {"python_hash_seed": STARTED_WITH_HASH_SEED, "host": socket.gethostname(), "pid": os.getpid()}


def compute_run(source: Source, label: str, parameters: dict, fingerprint: str, settings: AnalysisSettings,
                root: Path, progress: Progress = no_progress) -> Published:
    """Load or train, analyse, and publish the run's bundle under ``root``. Touches no database."""
    started = perf_counter()
    embedding = source.load(progress)
    loaded = perf_counter()
    findings = analyse(embedding, settings)
    analysed = perf_counter()
    run = {
        "label": label,
        "fingerprint": fingerprint,
        "source": source.kind,
        **source.run_columns(),
        "dim": embedding.dim,
        "top_k": settings.top_k,
        "parameters": parameters,
        **findings.summary,
        "load_seconds": loaded - started,
        "analysis_seconds": analysed - loaded,
        "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }
    notes = pair_notes(findings.tables["difference_pairs"])
    vectors_source = memory_mapped_file(embedding.vectors)
    folder = publish(root, fingerprint, lambda folder: _write(
        folder, run, findings.tables, embedding.vectors, vectors_source,
        {**embedding.metadata, "worker": process_record()}, notes, perf_counter() - started))
    return Published(folder, vectors_source)
