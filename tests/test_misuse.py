"""Nothing lost, nothing misdirected: each case of issue 14, tried as an adversarial user would.

Each test reproduces one numbered case (it failed before the fix) and checks the fix. Most run the
console entry point in this process (fast); a few need a process of their own.
"""
from __future__ import annotations

import gzip
import os
import resource
import signal
import time

import duckdb
import numpy as np
import pytest
from gensim.models import KeyedVectors

from polyuni_db.cli import main
from polyuni_db.errors import PolyuniError
from polyuni_db.runs.findings import AnalysisSettings
from polyuni_db.runs.pipeline import ingest
from polyuni_db.sources.files import FileSource, read_vectors

GLOVE_ROWS = ["alpha 1 0 0", "beta 0 1 0", "gamma 0 0 1", "delta 1 1 0", "eps 0 1 1", "zeta 1 0 1"]
FAST = ["--top-k", "1", "--pairs", "alpha:beta", "--no-mlflow"]


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("\n".join(GLOVE_ROWS) + "\n")
    return path


def polyuni(capsys, *args):
    """(exit code, stdout, stderr) of the console entry point; argparse's usage errors exit 2."""
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("polyuni: error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def read_only_folder(tmp_path):
    """A folder nobody can create files in: permission bits bind an ordinary user; root (CI here) is
    bound only by a file system that refuses writes, such as sysfs."""
    if os.geteuid() == 0:
        return "/sys"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


def query(db, sql):
    with duckdb.connect(str(db), read_only=True) as connection:
        return connection.execute(sql).fetchall()


# 1. `polyuni sql` could overwrite files, change other databases, read any file and reach the network.
def test_1_sql_reaches_nothing_outside_the_database(tmp_path, glove_file, capsys):
    db, other = tmp_path / "f.duckdb", tmp_path / "other.duckdb"
    assert polyuni(capsys, "--db", db, "ingest", "file", glove_file, "--format", "glove-text", "--label", "g", *FAST)[0] == 0
    with duckdb.connect(str(other)) as connection:
        connection.execute("CREATE TABLE word_stats AS SELECT 1 AS x")
    before = db.read_bytes()
    for statement in (
        f"COPY (SELECT 'x') TO '{db}' (FORMAT csv)",
        f"ATTACH '{other}' AS o (READ_WRITE)",
        f"EXPORT DATABASE '{tmp_path / 'exported'}'",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "INSTALL httpfs",
        "SET enable_external_access = true",
    ):
        code, out, err = polyuni(capsys, "--db", db, "sql", statement)
        assert code == 1 and not out and err.startswith("polyuni: error: "), (statement, err)
    assert db.read_bytes() == before and not (tmp_path / "exported").exists()
    assert query(other, "SELECT x FROM word_stats") == [(1,)]
    # reading files and other databases is opt-in, and read-only
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n7\n")
    code, out, _ = polyuni(capsys, "--db", db, "sql", f"SELECT a FROM read_csv('{tmp_path / 'data' / 'x.csv'}')",
                           "--read-files", tmp_path / "data", "--format", "csv")
    assert (code, out.split()) == (0, ["a", "7"])
    assert polyuni(capsys, "--db", db, "sql", "SELECT x FROM other.word_stats", "--attach", other)[0] == 0
    code, _, err = polyuni(capsys, "--db", db, "sql", "DROP TABLE other.word_stats", "--attach", other)
    assert code == 1 and "read-only" in err
    # files that can be read cannot be written, not even by a COPY that EXPLAIN ANALYZE would run
    for statement in (f"COPY (SELECT 1) TO '{tmp_path / 'data' / 'y.csv'}'",
                      f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{tmp_path / 'data' / 'y.csv'}'"):
        code, _, err = polyuni(capsys, "--db", db, "sql", statement, "--read-files", tmp_path / "data")
        assert code == 1 and "COPY is not" in err, err
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == ["x.csv"]
    assert polyuni(capsys, "--db", db, "sql", "EXPLAIN ANALYZE SELECT 1")[0] == 0
    assert query(other, "SELECT x FROM word_stats") == [(1,)]


# 2. `--force` deleted another run whose fingerprint it recomputed.
def test_2_force_replaces_only_its_own_label(tmp_path, glove_file, capsys):
    db = tmp_path / "f.duckdb"
    ingest_as = ["ingest", "file", glove_file, "--format", "glove-text", "--pairs", "alpha:beta", "--no-mlflow"]
    assert polyuni(capsys, "--db", db, *ingest_as, "--label", "A", "--top-k", "2")[0] == 0
    assert polyuni(capsys, "--db", db, *ingest_as, "--label", "B", "--top-k", "3")[0] == 0
    code, out, err = polyuni(capsys, "--db", db, *ingest_as, "--label", "A", "--top-k", "3", "--force")
    assert code == 1 and not out
    one_line_error(err, "already stored as 'B'")
    assert query(db, "SELECT label, top_k FROM runs ORDER BY label") == [("A", 2), ("B", 3)]
    assert query(db, "SELECT count(*) FROM dimension_words JOIN runs USING (run_id) WHERE label = 'B'") == [(18,)]
    # forcing A with settings of its own replaces A alone
    code, out, _ = polyuni(capsys, "--db", db, *ingest_as, "--label", "A", "--top-k", "1", "--force")
    assert code == 0 and "A: replaced" in out
    assert query(db, "SELECT label, top_k FROM runs ORDER BY label") == [("A", 1), ("B", 3)]


# 3. `--db` was URL-decoded for writes, and DuckDB's special names were taken.
def test_3_db_is_a_file_path(tmp_path, glove_file, capsys):
    for name in ("a%41.duckdb", "q?threads=1.duckdb"):
        code, _, err = polyuni(capsys, "--db", tmp_path / name, "ingest", "file", glove_file, "--format", "glove-text",
                               "--label", "g", *FAST)
        assert code == 0, err
        assert (tmp_path / name).is_file() and query(tmp_path / name, "SELECT label FROM runs") == [("g",)]
    assert not (tmp_path / "aA.duckdb").exists()
    code, _, err = polyuni(capsys, "--db", ":memory:", "ingest", "file", glove_file, "--format", "glove-text",
                           "--label", "g", *FAST)
    assert code == 1
    one_line_error(err, "is not a file path")


# 4. `--format gensim` fingerprints ignored the .vectors.npy sidecar.
def test_4_a_gensim_files_fingerprint_covers_its_sidecar(tmp_path):
    keyed = KeyedVectors(4)
    keyed.add_vectors([f"w{i}" for i in range(200)], np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32))
    path = tmp_path / "model.kv"
    keyed.save(str(path), sep_limit=0)  # arrays go to model.kv.vectors.npy, as gensim does for large ones
    sidecar = tmp_path / "model.kv.vectors.npy"
    assert sidecar.is_file()
    db = tmp_path / "g.duckdb"
    settings = AnalysisSettings(top_k=2, pairs=())
    ingest(FileSource(path, "gensim"), db, label="kv", settings=settings, track=False)
    np.save(sidecar, np.load(sidecar) * -1)
    with pytest.raises(PolyuniError, match="already belongs to another run"):
        ingest(FileSource(path, "gensim"), db, label="kv", settings=settings, track=False)
    assert ingest(FileSource(path, "gensim"), db, label="kv", settings=settings, track=False, force=True).action == "replaced"


# 5. A .gz header was not checked against the file's size.
def test_5_a_gz_header_is_checked_before_allocating(tmp_path):
    path = tmp_path / "huge.txt.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("1000000000 50\nalpha " + " ".join(["0.5"] * 50) + "\n")
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(PolyuniError, match="truncated or its header is wrong"):
        read_vectors(path, "word2vec-text")
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before < 200_000  # KiB


# 6. MLflow failures were slow: an unreachable server, a sqlite store in a read-only folder.
def test_6_mlflow_failures_cost_seconds(tmp_path, glove_file, monkeypatch, capsys):
    for name in ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.delenv(name, raising=False)  # polyuni's defaults apply; restored after the test
    for uri in ("http://127.0.0.1:1", f"sqlite:///{read_only_folder(tmp_path)}/mlflow.sqlite"):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        db = tmp_path / f"m{len(uri)}.duckdb"
        started = time.monotonic()
        code, out, err = polyuni(capsys, "--db", db, "ingest", "file", glove_file, "--format", "glove-text",
                                 "--label", "g", "--top-k", "1", "--pairs", "alpha:beta")
        assert code == 0 and "g: ingested" in out
        assert time.monotonic() - started < 30, uri
        assert len(err.strip().splitlines()) == 1 and "MLflow logging failed" in err, err
        assert query(db, "SELECT mlflow_status FROM runs") == [("failed",)]


# 7. Errors that were not one line: internal errors, tracebacks, several lines.
def test_7_every_mistake_is_one_line(tmp_path, glove_file, capsys):
    db = tmp_path / "f.duckdb"
    assert polyuni(capsys, "--db", db, "init")[0] == 0
    duplicated = tmp_path / "dup.txt"
    duplicated.write_text("alpha 1 2\nbeta 3 4\nalpha 5 6\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    word2vec = tmp_path / "w2v.txt"
    word2vec.write_text("2 2\nalpha 1 2\nbeta 3 4\n")
    cases = [
        (["ingest", "file", duplicated, "--format", "glove-text", "--label", "d"], "'alpha'"),
        (["ingest", "file", empty, "--format", "glove-text", "--label", "e"], "holds no vectors"),
        (["ingest", "file", word2vec, "--format", "glove-text", "--label", "w"], "--format word2vec-text"),
        (["report", "--out", glove_file], "is a file"),
        (["report", "--out", f"{read_only_folder(tmp_path)}/report"], "cannot write in"),
        (["sql", ""], "no SQL statement"),
        (["ingest", "train", "--corpus", "lee_background", "--dims", "100000000", "--no-mlflow"], "fewer --dims"),
    ]
    for args, fragment in cases:
        code, _, err = polyuni(capsys, "--db", db, *args)
        assert code == 1, (args, err)
        one_line_error(err, fragment)
    code, _, err = polyuni(capsys, "--db", f"{read_only_folder(tmp_path)}/x.duckdb", "ingest", "file", glove_file,
                           "--format", "glove-text", "--label", "g", *FAST)
    one_line_error(err, "not writable")
    # a database made by a newer polyuni
    with duckdb.connect(str(db)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    code, _, err = polyuni(capsys, "--db", db, "ingest", "file", glove_file, "--format", "glove-text", "--label", "g", *FAST)
    one_line_error(err, "revision 9999, newer than this polyuni")
    # seeds out of gensim's range are usage errors before anything is trained
    for seed in ("-1", str(2**31)):
        code, _, err = polyuni(capsys, "ingest", "train", "--corpus", "corpus_2", "--dims", "2", "--seeds", "1", seed)
        assert code == 2 and err.strip().splitlines()[-1].startswith("polyuni ingest train: error: argument --seeds")


def test_7_a_full_disk_is_one_line(tmp_path, glove_file, capsys):
    """A file-size limit stands in for a full disk: DuckDB's commit cannot write its log."""
    db = tmp_path / "full.duckdb"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))
    try:
        code, _, err = polyuni(capsys, "--db", db, "ingest", "file", glove_file, "--format", "glove-text",
                               "--label", "g", *FAST)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert code == 1, err
    one_line_error(err, "File too large")
    assert list((tmp_path / "full.vectors").glob("*.npy")) == []  # the run's vectors went with it


# 8. Misleading: Ctrl-C while logging, byte-order marks, empty labels, NaN timeouts, folders made silently.
def test_8_interrupted_mlflow_logging_says_the_run_is_stored(tmp_path, glove_file, monkeypatch, capsys):
    import polyuni_db.runs.tracking

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(polyuni_db.runs.tracking, "log_run", interrupted)
    db = tmp_path / "f.duckdb"
    code, _, err = polyuni(capsys, "--db", db, "ingest", "file", glove_file, "--format", "glove-text", "--label", "g",
                           "--top-k", "1", "--pairs", "alpha:beta")
    assert code == 130 and "is stored" in err and "mlflow-sync" in err and "nothing half-written" not in err
    assert query(db, "SELECT label, mlflow_status FROM runs") == [("g", "failed")]


def test_8_byte_order_marks_labels_timeouts_and_folders(tmp_path, capsys):
    bom = b"\xef\xbb\xbf"
    glove = tmp_path / "bom.txt"
    glove.write_bytes(bom + b"alpha 1 2\nbeta 3 4\n")
    assert read_vectors(glove, "glove-text").words == ["alpha", "beta"]
    word2vec = tmp_path / "bom.vec"
    word2vec.write_bytes(bom + b"2 2\nalpha 1 2\nbeta 3 4\n")
    assert read_vectors(word2vec, "word2vec-text").words == ["alpha", "beta"]
    for args in (["ingest", "file", glove, "--format", "glove-text", "--label", ""],
                 ["--lock-timeout", "nan", "runs"], ["--lock-timeout", "inf", "runs"]):
        code, _, err = polyuni(capsys, *args)
        assert code == 2 and "error: argument" in err.strip().splitlines()[-1], (args, err)
    missing = tmp_path / "no" / "such" / "folder"
    code, _, err = polyuni(capsys, "--db", missing / "x.duckdb", "ingest", "file", glove, "--format", "glove-text",
                           "--label", "g", *FAST)
    one_line_error(err, "no folder")
    assert not (tmp_path / "no").exists()


# 9. Leftovers: .npy files of failed, killed or replaced runs piled up in polyuni.vectors/.
def test_9_vectors_of_runs_not_stored_are_removed(tmp_path, glove_file, monkeypatch, capsys):
    db = tmp_path / "f.duckdb"
    folder = tmp_path / "f.vectors"
    ingest_g = ["--db", db, "ingest", "file", glove_file, "--format", "glove-text", "--label", "g", "--no-mlflow",
                "--pairs", "alpha:beta"]

    def kept() -> set:
        return {path.name for path in folder.glob("*.npy")}

    def referenced() -> set:
        return {os.path.basename(path) for (path,) in query(db, "SELECT vectors_path FROM runs")}

    assert polyuni(capsys, *ingest_g, "--top-k", "1")[0] == 0
    assert kept() == referenced() and len(kept()) == 1
    # replaced: the old run's vectors go with it
    assert polyuni(capsys, *ingest_g, "--top-k", "2", "--force")[0] == 0
    assert kept() == referenced() and len(kept()) == 1
    # failed while writing: the new vectors go
    import polyuni_db.store.bundles  # the committer: ingest imports the run's bundle through it

    def failing_write(*args, **kwargs):
        raise PolyuniError("the write failed")

    monkeypatch.setattr(polyuni_db.store.bundles, "write_run", failing_write)
    assert polyuni(capsys, *ingest_g, "--top-k", "3", "--force")[0] == 1
    assert kept() == referenced()
    monkeypatch.undo()
    # killed: what a killed ingest left is swept by `polyuni init` once it is old enough
    stale, fresh = folder / "0123456789abcdef01234567.npy", folder / "fedcba9876543210fedcba98.npy"
    np.save(stale, np.zeros((2, 2), np.float32))
    np.save(fresh, np.zeros((2, 2), np.float32))
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    assert polyuni(capsys, "--db", db, "init")[0] == 0
    assert kept() == referenced() | {fresh.name}


def test_comparing_two_minimal_models_that_share_too_few_words_is_one_line(tmp_path, capsys):
    """Two minimal corpora share a handful of words: compare says so before any work (it ended in an
    internal error in the rotation null, top-k 5 against 2 rankable words)."""
    db = tmp_path / "tiny.duckdb"
    for corpus in ("corpus_food", "corpus_2"):
        assert polyuni(capsys, "--db", db, "ingest", "train", "--corpus", corpus, "--dims", "2", "--no-mlflow")[0] == 0
    code, _, err = polyuni(capsys, "--db", db, "compare", "corpus_food_2", "corpus_2_2")
    assert code == 1
    one_line_error(err, "corpus_2_2 and corpus_food_2 share", "too few to compare")
    assert duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM similarity").fetchone() == (0,)
