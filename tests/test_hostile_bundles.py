"""Bundles are input from strangers (issue 23): whatever a bundle holds, `polyuni import` either stores
exactly the run it describes or refuses it in one line, writing nothing, and no file outside the
database's folder ever changes.

One real bundle (Word2Vec on corpus_food) and one database holding another run ("victim", with its
kept vectors) are built once; each case works on a fresh copy of both."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from polyuni_db.cli import main
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import BUNDLE_PREFIX, compute_run, find_bundles, read_bundle
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import commit_bundle, ingest, run_identity
from polyuni_db.sources.corpora import load_corpus
from polyuni_db.sources.trained import TrainedSource

SQL_IN_A_NAME = ("dimension) SELECT 1, 1 WHERE false; CREATE TABLE pwned AS SELECT 42 AS x; UPDATE runs SET label "
                 "= label || '_pwned'; COPY (SELECT label FROM runs) TO 'stolen.csv'; SELECT ? AS a, x' AS b")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """world/db/polyuni.duckdb holding run "victim" and its kept vectors; world/bundles/fingerprint=...
    the bundle of run "food"; world/outside/secret.txt a file nothing may touch."""
    world = tmp_path_factory.mktemp("hostile")
    analysis = AnalysisSettings(all_if_fewer=True)
    (world / "db").mkdir()
    ingest(TrainedSource(load_corpus("corpus_capital_small"), 3, 1), world / "db" / "polyuni.duckdb",
           label="victim", settings=analysis, track=False)
    source = TrainedSource(load_corpus("corpus_food"), 3, 1)
    label, parameters, fingerprint = run_identity(source, "food", analysis)
    compute_run(source, label, parameters, fingerprint, analysis, world / "bundles")
    (world / "outside").mkdir()
    (world / "outside" / "secret.txt").write_text("not yours\n")
    return world


class World:
    """A fresh copy of the template: the database, the bundle, and helpers to spoil the bundle."""

    def __init__(self, root: Path, template: Path) -> None:
        shutil.copytree(template, root, symlinks=True, dirs_exist_ok=True)
        self.root = root
        self.db = root / "db" / "polyuni.duckdb"
        self.bundle = find_bundles(root / "bundles")[0]

        (path,) = read_only(self.db, "SELECT vectors_path FROM runs WHERE label = 'victim'")[0]
        self.victim_vectors = self.db.parent / path

    def editable(self, path: Path) -> bool:
        """Whether ``path`` can be changed without writing through a symlink to another file."""
        return path.exists() and not any(
            part.is_symlink() for part in (path, *path.parents) if part.is_relative_to(self.bundle))

    def edit_run(self, change) -> None:
        if not self.editable(self.bundle / "run.json"):
            return
        content = json.loads((self.bundle / "run.json").read_text())
        change(content)
        (self.bundle / "run.json").write_text(json.dumps(content))

    def table(self, name: str) -> Path:
        return self.bundle / f"table={name}" / "part-0.parquet"

    def rewrite_table(self, name: str, change) -> None:
        if not self.editable(self.table(name)):
            return
        pq.write_table(change(pq.read_table(self.table(name))), self.table(name))

    def rename_to(self, fingerprint: str) -> None:
        self.bundle = self.bundle.rename(self.bundle.with_name(f"{BUNDLE_PREFIX}{fingerprint}"))

    def snapshot(self, under: str = "") -> dict:
        """Every entry under the world (or its folder ``under``): file bytes' hash, or link target."""
        found = {}
        for folder, folders, files in os.walk(self.root / under):
            for name in folders + files:
                path = Path(folder) / name
                key = str(path.relative_to(self.root))
                if path.is_symlink():
                    found[key] = "-> " + os.readlink(path)
                elif path.is_file():
                    found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    found[key] = "folder"
        return found



@pytest.fixture
def world(tmp_path, template, monkeypatch) -> World:
    world = World(tmp_path / "world", template)
    monkeypatch.chdir(world.root)  # where a COPY ... TO 'stolen.csv' would write
    return world


def assert_refused_in_one_line(world: World, capsys, *args: str) -> str:
    """`polyuni import` (the console entry point, in this process) exits 1 with one line on stderr,
    and no file anywhere changes."""
    before = world.snapshot()
    code = main(["--db", str(world.db), "import", *args, "--no-mlflow"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert err.startswith("polyuni: error: ") and err.count("\n") == 1, err
    assert err.isascii() and "\x1b" not in err
    assert world.snapshot() == before
    return err


# --- the five hostile imports of the "Done when" ---------------------------------------------

def test_sql_in_a_parquet_column_name_is_refused(world, capsys):
    world.rewrite_table("dimension_words", lambda rows: rows.rename_columns(
        [SQL_IN_A_NAME if name == "dimension" else name for name in rows.column_names]))
    message = assert_refused_in_one_line(world, capsys, str(world.bundle))
    assert "dimension_words has columns" in message
    assert not (world.root / "stolen.csv").exists()


def test_vectors_file_naming_another_runs_kept_vectors_is_refused_then_and_with_force(world, capsys):
    victim = world.victim_vectors
    world.edit_run(lambda content: content.update(vectors_file=str(victim)))
    (world.bundle / "vectors.npy").unlink()
    assert "vectors_file" in assert_refused_in_one_line(world, capsys, str(world.bundle))
    assert "vectors_file" in assert_refused_in_one_line(world, capsys, str(world.bundle), "--force")


def test_a_fingerprint_sharing_another_runs_first_24_characters_is_refused(world, capsys):
    victim = read_only(world.db, "SELECT fingerprint FROM runs WHERE label = 'victim'")[0][0]
    colliding = victim[:24] + read_bundle(world.bundle).fingerprint[24:]
    world.edit_run(lambda content: content["run"].update(fingerprint=colliding))
    world.rename_to(colliding)
    assert "not the hash of its parameters" in assert_refused_in_one_line(world, capsys, str(world.bundle))


def test_vectors_symlinked_to_the_database_are_refused(world, capsys):
    (world.bundle / "vectors.npy").unlink()
    (world.bundle / "vectors.npy").symlink_to(world.db)
    assert "symbolic link" in assert_refused_in_one_line(world, capsys, str(world.bundle))


def test_a_label_with_control_characters_is_refused(world, capsys):
    world.edit_run(lambda content: content["run"].update(label="food\x1b[31m\nred"))
    assert "printable" in assert_refused_in_one_line(world, capsys, str(world.bundle))


def read_only(db: Path, query: str) -> list:
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(query).fetchall()


# --- every other hostile bundle of the issue: refused in one line, nothing written ------------------

def _swap_tables(world: World) -> None:
    shutil.copyfile(world.table("dimension_words"), world.table("word_stats"))


def _symlink(path: Path, target: Path) -> None:
    path.unlink() if path.is_file() else shutil.rmtree(path)
    path.symlink_to(target)


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


REFUSED = {
    "run.json without dim": lambda w: w.edit_run(lambda c: c["run"].pop("dim")),
    "run.json without notes": lambda w: w.edit_run(lambda c: c.pop("notes")),
    "an unknown key": lambda w: w.edit_run(lambda c: c.update(extra=1)),
    "a status key": lambda w: w.edit_run(lambda c: c["run"].update(status="complete")),
    "a run_id key": lambda w: w.edit_run(lambda c: c["run"].update(run_id=1)),
    "dim 10^30": lambda w: w.edit_run(lambda c: c["run"].update(dim=10**30)),
    "dim as text": lambda w: w.edit_run(lambda c: c["run"].update(dim="3")),
    "NaN mean norm": lambda w: w.edit_run(lambda c: c["run"].update(mean_norm=float("nan"))),
    "vectors_file ../../etc/passwd": lambda w: w.edit_run(lambda c: c.update(vectors_file="../../etc/passwd")),
    "vectors_file /etc/passwd": lambda w: w.edit_run(lambda c: c.update(vectors_file="/etc/passwd")),
    "an older format": lambda w: w.edit_run(lambda c: c.update(format=1)),
    "a time zone": lambda w: w.edit_run(lambda c: c["run"].update(created_at="2026-01-01T00:00:00+05:00")),
    "parameters not a run's": lambda w: w.edit_run(lambda c: c["run"].update(parameters={"atoms": 3})),
    "a truncated Parquet file": lambda w: _truncate(w.table("word_stats"), 0.5),
    "a garbage Parquet file": lambda w: w.table("word_stats").write_bytes(os.urandom(2000)),
    "swapped Parquet files": _swap_tables,
    "an extra column": lambda w: w.rewrite_table("word_stats", lambda t: t.append_column("x", pa.array([1] * len(t)))),
    "a column of another type": lambda w: w.rewrite_table(
        "dimension_words", lambda t: t.set_column(0, "dimension", t.column("dimension").cast(pa.int64()))),
    "a nullable key": lambda w: w.rewrite_table(
        "dimension_words", lambda t: t.cast(t.schema.set(0, t.schema.field(0).with_nullable(True)))),
    "a word twice": lambda w: w.rewrite_table(
        "word_stats", lambda t: t.set_column(0, t.field(0), pa.array([t.column("word")[0].as_py()] * len(t)))),
    "a table that is not a finding": lambda w: shutil.copytree(
        w.table("word_stats").parent, w.bundle / "table=runs"),
    "a measure against another run": lambda w: shutil.copytree(
        w.table("word_stats").parent, w.bundle / "table=pseudoword_alignment"),
    "a table symlinked elsewhere": lambda w: _symlink(w.table("word_stats").parent, w.root / "outside"),
    "a Parquet file symlinked elsewhere": lambda w: _symlink(w.table("word_stats"), w.root / "outside" / "secret.txt"),
    "vectors symlinked to /etc/passwd": lambda w: _symlink(w.bundle / "vectors.npy", Path("/etc/passwd")),
    "garbage vectors": lambda w: (w.bundle / "vectors.npy").write_bytes(os.urandom(500)),
    "vectors of the wrong shape": lambda w: np.save(w.bundle / "vectors.npy", np.zeros((2, 3), np.float32)),
    "float64 vectors": lambda w: np.save(w.bundle / "vectors.npy", np.load(w.bundle / "vectors.npy").astype(np.float64)),
    "a pickled vectors file": lambda w: np.save(w.bundle / "vectors.npy", np.array([{}], dtype=object)),
    "no vectors": lambda w: (w.bundle / "vectors.npy").unlink(),
    "a run.json of 2 MB": lambda w: os.truncate(w.bundle / "run.json", 2_000_000),
    "a deeply nested run.json": lambda w: (w.bundle / "run.json").write_text("[" * 100_000),
    "a symlinked bundle": lambda w: _symlink(w.bundle, w.root / "outside"),
    "a stray file": lambda w: (w.bundle / "notes.txt").write_text("hello"),
}


@pytest.mark.parametrize("spoil", REFUSED.values(), ids=REFUSED.keys())
def test_a_hostile_bundle_is_refused_in_one_line_and_nothing_is_written(world, spoil):
    spoil(world)
    before = world.snapshot()
    with pytest.raises(PolyuniError) as refused:
        commit_bundle(world.db, world.bundle, track=False)
    assert "\n" not in str(refused.value) and str(refused.value).isprintable()
    assert world.snapshot() == before


def test_an_unspoilt_bundle_is_stored_with_its_vectors_named_by_the_whole_fingerprint(world):
    fingerprint = read_bundle(world.bundle).fingerprint
    commit_bundle(world.db, world.bundle, track=False)
    (path,) = read_only(world.db, "SELECT vectors_path FROM runs WHERE label = 'food'")[0]
    assert Path(path).name == f"{fingerprint}.npy"
    assert (world.db.parent / path).read_bytes() == (world.bundle / "vectors.npy").read_bytes()


def test_vectors_kept_under_the_old_24_character_names_stay_readable(world):
    """Databases from before kept vectors as <first 24 characters>.npy: runs.vectors_path still finds them."""
    from polyuni_db.store.read import load_run

    victim = world.victim_vectors
    old = victim.with_name(victim.name[:24] + ".npy")
    victim.rename(old)
    with duckdb.connect(str(world.db)) as connection:
        connection.execute("UPDATE runs SET vectors_path = ? WHERE label = 'victim'",
                           [str(old.relative_to(world.db.parent))])
    assert load_run(world.db, "victim").vectors.shape[1] == 3


# --- hypothesis: a real bundle mutated at random --------------------------------------------------

RUN_KEYS = ["label", "fingerprint", "source", "model_name", "corpus", "dim", "seed", "top_k", "parameters",
            "vocab_size", "n_untrained", "n_unrankable", "mean_norm", "load_seconds", "analysis_seconds",
            "created_at"]
TOP_KEYS = ["format", "run", "metadata", "notes", "compute_seconds", "vectors_file", "status"]
TABLES = ["dimension_words", "difference_pairs", "word_stats", "word_vectors", "pair_geometry"]
FILES = ["run.json", "vectors.npy", *(f"table={name}/part-0.parquet" for name in TABLES)]
ARROW_TYPES = [pa.int32(), pa.int64(), pa.float32(), pa.float64(), pa.string(), pa.bool_()]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
PLAUSIBLE = st.one_of(  # values a run.json may well hold: most such bundles are stored
    st.tuples(st.just("label"), st.sampled_from(["victim", "food2"]) | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)),
    st.tuples(st.just("mean_norm"), FINITE), st.tuples(st.just("load_seconds"), FINITE),
    st.tuples(st.just("corpus"), st.none() | st.text(min_size=1, max_size=10)),
    st.tuples(st.just("n_untrained"), st.none() | st.integers(-1, 2**31)),
    st.tuples(st.just("created_at"), st.datetimes().map(lambda moment: moment.isoformat())),
)
MUTATIONS = st.one_of(
    PLAUSIBLE.map(lambda change: ("set run", *change)),
    PLAUSIBLE.map(lambda change: ("set run", *change)),
    st.tuples(st.just("set run"), st.sampled_from(RUN_KEYS), JSON_VALUES),
    st.tuples(st.just("set"), st.sampled_from(TOP_KEYS), JSON_VALUES),
    st.tuples(st.just("delete run"), st.sampled_from(RUN_KEYS)),
    st.tuples(st.just("delete"), st.sampled_from(TOP_KEYS)),
    st.tuples(st.just("rename column"), st.sampled_from(TABLES), st.integers(0, 5), st.text(min_size=1, max_size=20)),
    st.tuples(st.just("retype column"), st.sampled_from(TABLES), st.integers(0, 5), st.sampled_from(ARROW_TYPES)),
    st.tuples(st.just("truncate"), st.sampled_from(FILES), st.floats(0, 1)),
    st.tuples(st.just("flip byte"), st.sampled_from(FILES), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("grow"), st.sampled_from(FILES), st.integers(1, 3_000_000)),
    st.tuples(st.just("symlink"), st.sampled_from([*FILES, "", "table=word_stats"]),
              st.sampled_from(["db/polyuni.duckdb", "outside/secret.txt", "outside", "/etc/passwd", "victim"])),
)


def _mutate(world: World, mutation: tuple) -> None:
    kind, *details = mutation
    if kind in ("set run", "set", "delete run", "delete"):
        def change(content: dict) -> None:
            target = content["run"] if kind.endswith("run") and isinstance(content.get("run"), dict) else content
            if kind.startswith("set"):
                target[details[0]] = details[1]
            else:
                target.pop(details[0], None)
        try:
            world.edit_run(change)
        except ValueError:  # run.json already spoilt
            pass
        return
    if kind in ("rename column", "retype column"):
        table, index, value = details

        def change(rows: pa.Table) -> pa.Table:
            index_ = index % rows.num_columns
            if kind == "rename column":
                return rows.rename_columns([value if i == index_ else n for i, n in enumerate(rows.column_names)])
            try:
                return rows.set_column(index_, rows.field(index_).name, rows.column(index_).cast(value))
            except (pa.ArrowException, ValueError):
                return rows
        try:
            world.rewrite_table(table, change)
        except (pa.ArrowException, OSError):  # the file already spoilt
            pass
        return
    path = world.bundle / details[0]
    if not world.editable(path):
        return
    if kind == "truncate":
        _truncate(path, details[1])
    elif kind == "flip byte":
        data = bytearray(path.read_bytes())
        if data:
            data[int(details[1] * (len(data) - 1))] ^= details[2]
            path.write_bytes(bytes(data))
    elif kind == "grow":
        os.truncate(path, path.stat().st_size + details[1])
    elif kind == "symlink":
        target = world.victim_vectors if details[1] == "victim" else world.root / details[1]
        _symlink(path, target)


def _assert_stored_as_described(world: World) -> None:
    """The run in the database is the bundle's: its columns, its rows' counts, its vectors' bytes."""
    bundle = read_bundle(world.bundle)
    columns = list(bundle.run)
    stored = read_only(world.db, f"SELECT {', '.join(columns)}, vectors_path, run_id FROM runs "
                                 f"WHERE fingerprint = '{bundle.fingerprint}'")
    assert len(stored) == 1
    *values, vectors_path, run_id = stored[0]
    for column, value in zip(columns, values):
        expected = bundle.run[column]
        assert (json.loads(value) if column == "parameters" else value) == expected, column
    for name, rows in bundle.tables().items():
        assert read_only(world.db, f"SELECT count(*) FROM {name} WHERE run_id = {run_id}")[0][0] == rows.num_rows
    assert (world.db.parent / vectors_path).read_bytes() == (world.bundle / "vectors.npy").read_bytes()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutated")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_a_mutated_bundle_is_stored_as_it_says_or_refused_in_one_line(template, scratch, mutations):
    world = World(Path(tempfile.mkdtemp(dir=scratch)), template)
    try:
        for mutation in mutations:
            _mutate(world, mutation)
        outside = world.snapshot("outside"), world.snapshot("bundles")
        before = world.snapshot("db")
        victim = world.victim_vectors.read_bytes()
        try:
            commit_bundle(world.db, world.bundle, track=False)
        except PolyuniError as refused:
            assert "\n" not in str(refused) and str(refused).isprintable()
            assert world.snapshot("db") == before
            event("refused")
        else:
            _assert_stored_as_described(world)
            event("stored")
        assert (world.snapshot("outside"), world.snapshot("bundles")) == outside
        assert world.victim_vectors.read_bytes() == victim
        assert (world.root / "outside" / "secret.txt").read_text() == "not yours\n"
    finally:
        shutil.rmtree(world.root, ignore_errors=True)


def test_a_folder_with_one_hostile_bundle_imports_none(world, capsys):
    """Every bundle of a folder is checked before any is imported."""
    hostile = world.bundle.with_name(f"{BUNDLE_PREFIX}{'0' * 64}")
    shutil.copytree(world.bundle, hostile)
    assert "not the one its name says" in assert_refused_in_one_line(world, capsys, str(world.bundle.parent))


def test_a_hostile_bundle_in_a_sweeps_bundle_folder_fails_its_run(world, capsys):
    """`polyuni sweep --bundles DIR` commits a bundle found there for a planned run: checked the same."""
    from polyuni_db.runs.sweep import load_sweep

    sweep = world.root / "outside" / "sweep.toml"
    sweep.write_text('[train]\ncorpora = ["corpus_food"]\ndims = [3]\n')
    planned = load_sweep(sweep).runs[0]
    source, analysis = planned.build(world.db)
    folder = world.root / "outside" / "bundles"
    world.bundle = compute_run(source, *run_identity(source, planned.label, analysis), analysis, folder).folder
    world.rewrite_table("dimension_words", lambda rows: rows.rename_columns(
        [SQL_IN_A_NAME if name == "dimension" else name for name in rows.column_names]))
    code = main(["--db", str(world.db), "sweep", str(sweep), "--executor", "inline", "--bundles", str(folder),
                 "--no-mlflow"])
    out, err = capsys.readouterr()
    assert code == 1 and "sweep: 0 of 1 runs stored, 1 failed" in out
    assert "dimension_words has columns" in err
    assert read_only(world.db, "SELECT label FROM runs") == [("victim",)]
    assert read_only(world.db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'pwned'") == [(0,)]
    assert not (world.root / "stolen.csv").exists()
