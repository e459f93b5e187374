"""Sweeps on Dask: a LocalCluster; a scheduler and workers started from the command line, one of them
killed mid-task; run bundles imported once however often; queries while the committer imports;
MLflow on a throw-away PostgreSQL. Tiny corpora, so that the services' start-up is most of the time."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from polyuni_db.errors import PolyuniError
from polyuni_db.runs.bundle import PARTIAL_PREFIX, find_bundles, read_bundle
from polyuni_db.runs.pipeline import commit_bundle
from polyuni_db.runs.sweep import load_sweep, run_sweep
from polyuni_db.store.read import read_only_query

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
LABELS = ["corpus_capital_small_3", "corpus_capital_small_4", "corpus_capital_3", "corpus_capital_4"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dump(db: Path) -> list:
    """Every row a run has, by label: equal dumps mean identical findings."""
    query = """
        SELECT label, fingerprint, vocab_size, n_untrained,
          (SELECT list(d.dimension || d.pole || d.rank || d.word || d.similarity ORDER BY d.dimension, d.pole, d.rank)
             FROM dimension_words d WHERE d.run_id = r.run_id),
          (SELECT list(n.word_a || n.rank || n.word || n.similarity ORDER BY n.word_a, n.rank)
             FROM difference_neighbours n WHERE n.run_id = r.run_id),
          (SELECT list(p.word_a || p.status ORDER BY p.word_a) FROM difference_pairs p WHERE p.run_id = r.run_id),
          (SELECT list(w.word || w.norm || w.count ORDER BY w.rank) FROM word_stats w WHERE w.run_id = r.run_id),
          (SELECT list(v.value ORDER BY v.word, v.dimension) FROM word_vectors v WHERE v.run_id = r.run_id),
          (SELECT count(*) FROM pair_geometry g WHERE g.run_id = r.run_id)
        FROM runs r ORDER BY label"""
    return read_only_query(db, query)[1]


# --- a throw-away PostgreSQL for MLflow -------------------------------------------------------------

def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as nobody there."""
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL 15 cluster on 127.0.0.1 in a temporary folder, stopped at the end; its MLflow URI."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL 15 binaries are not at {PG_BIN}: MLflow on PostgreSQL is not tested")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: initdb refuses root")
    folder = Path(tempfile.mkdtemp(prefix="polyuni-pg-"))
    data, port = folder / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
    run = lambda command: subprocess.run(_as_postgres_user(command), capture_output=True, text=True, timeout=120)
    initialised = run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "polyuni", "-A", "trust", "--no-sync"])
    if initialised.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {initialised.stderr.strip().splitlines()[-1:]}")
    started = run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "start", "-o",
                   f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off"])
    assert started.returncode == 0, started.stderr + (folder / "log").read_text()
    try:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=port, user="polyuni", dbname="postgres")
        connection.autocommit = True
        connection.cursor().execute("CREATE DATABASE mlflow")
        connection.close()
        yield f"postgresql+psycopg2://polyuni@127.0.0.1:{port}/mlflow"
    finally:
        run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(folder, ignore_errors=True)


# --- the sweeps ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sweep_file() -> Path:
    return ROOT / "scripts" / "sweeps" / "tiny.toml"


@pytest.fixture(scope="module")
def local_sweep(sweep_file, request, tmp_path_factory):
    """The tiny sweep on a LocalCluster of 2 workers, logged to MLflow on PostgreSQL where there is one."""
    folder = tmp_path_factory.mktemp("local")
    db, bundles = folder / "sweep.duckdb", folder / "bundles"
    try:
        tracking = request.getfixturevalue("postgres")
    except pytest.skip.Exception:
        tracking = f"sqlite:///{folder / 'mlflow.sqlite'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking)
        outcomes, compared = run_sweep(db, sweep_file, executor="local:2", bundles=bundles)
    return db, bundles, outcomes, compared


def test_a_sweep_on_a_local_cluster_stores_every_run_once(local_sweep, sweep_file, tmp_path):
    db, bundles, outcomes, compared = local_sweep
    assert [o.label for o in outcomes] == LABELS and compared is None
    assert all(o.result is not None and o.result.action == "ingested" for o in outcomes), outcomes
    assert len(find_bundles(bundles)) == 4 and not list(bundles.glob(f"{PARTIAL_PREFIX}*"))
    # the same rows as computing each run in this process, one after another
    inline = tmp_path / "inline.duckdb"
    run_sweep(inline, sweep_file, executor="inline", track=False)
    assert dump(inline) == dump(db)
    # a rerun skips every stored run without starting a cluster
    started = time.monotonic()
    again, _ = run_sweep(db, sweep_file, executor="local:2", bundles=bundles)
    assert {o.result.action for o in again} == {"skipped"} and time.monotonic() - started < 5


def test_mlflow_on_postgresql_holds_every_run(local_sweep, postgres):
    from mlflow.tracking import MlflowClient

    db = local_sweep[0]
    _, rows = read_only_query(db, "SELECT label, mlflow_run_id, mlflow_status FROM runs ORDER BY label")
    assert {status for _, _, status in rows} == {"logged"}
    client = MlflowClient(tracking_uri=postgres)
    experiment = client.get_experiment_by_name(db.name)  # one experiment per database, named after its file
    logged = {run.info.run_id: run for run in client.search_runs([experiment.experiment_id])}
    assert {run_id for _, run_id, _ in rows} == set(logged)
    for label, run_id, _ in rows:
        assert logged[run_id].info.run_name == label
        assert logged[run_id].data.params["analysis.top_k"] == "3"
        # artifacts beside the DuckDB file, not in the working directory
        assert logged[run_id].info.artifact_uri.startswith(db.parent.resolve().as_uri())
        assert "dimension_words.csv" in {artifact.path for artifact in client.list_artifacts(run_id)}


def test_a_bundle_imported_twice_changes_nothing(local_sweep, tmp_path):
    source_db, bundles = local_sweep[0], local_sweep[1]
    db = tmp_path / "imported.duckdb"
    first = [commit_bundle(db, path, track=False) for path in find_bundles(bundles)]
    assert {result.action for result in first} == {"ingested"}
    before = dump(db)
    second = [commit_bundle(db, path, track=False) for path in find_bundles(bundles)]
    assert {result.action for result in second} == {"skipped"}
    assert dump(db) == before == dump(source_db)
    # and a bundle whose folder name does not match its run is refused
    bundle = find_bundles(bundles)[0]
    renamed = tmp_path / f"fingerprint={'0' * 64}"
    shutil.copytree(bundle, renamed)
    with pytest.raises(PolyuniError, match="not the one its name says"):
        read_bundle(renamed)


def test_queries_go_on_while_the_committer_imports(local_sweep, tmp_path):
    """`polyuni import` in another process, `polyuni sql` (and the function behind it) meanwhile:
    every answer comes, and sees whole runs only."""
    db = tmp_path / "busy.duckdb"
    env = {**os.environ, "POLYUNI_TEST_HOLD_WRITE": "0.3"}  # each import holds its transaction a while
    importer = subprocess.Popen([str(BIN / "polyuni"), "--db", str(db), "import", str(local_sweep[1]), "--no-mlflow"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    query = """SELECT r.label, count(d.run_id) = r.dim * 2 * r.top_k AS whole FROM runs r
               LEFT JOIN dimension_words d USING (run_id) GROUP BY r.label, r.dim, r.top_k"""
    while not db.exists():
        time.sleep(0.02)
    cli = subprocess.Popen([str(BIN / "polyuni"), "--db", str(db), "sql", query, "--format", "csv"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    while importer.poll() is None:
        try:
            seen.append(read_only_query(db, query)[1])
        except PolyuniError as error:  # before the first import has created the tables
            assert "runs does not exist" in str(error), error
    output, errors = cli.communicate(timeout=60)
    assert importer.returncode == 0, importer.stderr.read()
    assert cli.returncode == 0 or "runs does not exist" in errors, errors
    assert all(line.endswith(",true") for line in output.lower().splitlines()[1:]), output
    assert seen and all(whole for answer in seen for _, whole in answer)
    assert len(read_only_query(db, "SELECT * FROM runs")[1]) == 4


# --- a scheduler and workers from the command line, one of them killed mid-task ----------------------

HELD = "corpus_capital_4"


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two single-threaded `dask worker`s on 127.0.0.1, stopped at the end. The
    first attempt at HELD waits (POLYUNI_TEST_HOLD_TASK) with its process id in tmp_path/HELD.pid."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "POLYUNI_TEST_HOLD_TASK": f"{HELD}@{tmp_path}"}
    logs = [open(tmp_path / f"{name}.log", "w") for name in ("scheduler", "worker1", "worker2")]
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT)]
    for log in logs[1:]:
        processes.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
             "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, env=env))
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:  # workers without a nanny are one process each: nothing is left behind by a kill
        for process in reversed(processes):
            process.kill()
        for process in processes:
            process.wait(timeout=20)
        for log in logs:
            log.close()


def test_command_line_workers_one_killed_mid_task_give_the_same_rows(local_sweep, sweep_file, dask_cluster,
                                                                     tmp_path):
    """The worker computing HELD is killed mid-task: the scheduler reruns the task on the other one;
    nothing is lost or doubled, and the rows are those of the LocalCluster."""
    db, bundles = tmp_path / "cluster.duckdb", tmp_path / "bundles"
    marker, killed = tmp_path / f"{HELD}.pid", []

    def kill_when_held() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text():
                os.kill(int(marker.read_text()), signal.SIGKILL)
                killed.append(True)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_when_held)
    killer.start()
    outcomes, _ = run_sweep(db, sweep_file, executor=dask_cluster, bundles=bundles, track=False)
    killer.join()
    assert killed, "the held task never started"
    assert all(o.result is not None and o.result.action == "ingested" for o in outcomes), [o.error for o in outcomes]
    _, rows = read_only_query(db, "SELECT label, count(*) FROM runs GROUP BY label ORDER BY label")
    assert rows == [(label, 1) for label in sorted(LABELS)]
    assert dump(db) == dump(local_sweep[0])
    assert len(find_bundles(bundles)) == 4 and not list(bundles.glob(f"{PARTIAL_PREFIX}*"))


# --- the sweep file ----------------------------------------------------------------------------------------

def test_the_small_sweep_names_its_grid():
    sweep = load_sweep(ROOT / "scripts" / "sweeps" / "small.toml")
    assert [run.label for run in sweep.runs] == [
        f"{corpus}_{dim}{suffix}" for corpus in ("lee_background", "inaugural") for dim in (8, 16)
        for suffix in ("", "_s2")]
    assert (sweep.file.compare.words, sweep.file.compare.k, sweep.file.compare.permutations) == (500, 10, 10)


@pytest.mark.parametrize("text, message", [
    ("[train]\ncorpora = ['corpus_4']\ndims = [2]\nepoch = 3\n", "unknown key 'epoch' in [train]"),
    ("[train]\ncorpora = ['corpus_4']\ndims = 2\n", "[train] dims: input should be a valid list, not 2"),
    ("[[train]]\ncorpora = ['corpus_4']\ndims = [2]\n[[train]]\ncorpora = ['corpus_4']\ndims = [0]\n",
     "[train] dims: input should be greater than or equal to 1, not 0"),
    ("[features]\natoms = '300'\n[train]\ncorpora = ['corpus_4']\ndims = [2]\n", "[features] atoms: input should be a valid integer"),
    ("[compare]\nwords = true\n[train]\ncorpora = ['corpus_4']\ndims = [2]\n", "[compare] words: input should be a valid integer"),
    ("[pseudowords]\ncorpus = 'brown'\ndims = [2]\n", "[pseudowords] needs count"),
    ("[features]\nseed = [1]\n", "unknown key 'seed' in [features]"),
    ("[trian]\n", "unknown section [trian]"),
    ("[train]\ncorpora = ['corpus_4']\n", "[train] needs dims"),
    ("[train]\ncorpora = ['corpus_4']\ndims = [2]\nalgorithms = ['glove']\n", "[train] algorithms: input should be 'word2vec-sg', 'word2vec-cbow', 'fasttext' or 'ppmi-svd', not 'glove'"),
    ("[analysis\n", "is not valid TOML"),
    ("", "names no runs"),
])
def test_a_wrong_sweep_file_is_one_line(tmp_path, capsys, text, message):
    from polyuni_db.cli import main

    path = tmp_path / "sweep.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["--db", str(tmp_path / "x.duckdb"), "sweep", str(path), "--executor", "inline"]) == 1
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and not (tmp_path / "x.duckdb").exists()


def test_a_wrong_executor_is_one_line(tmp_path, sweep_file, capsys):
    from polyuni_db.cli import main

    for executor in ("local:0", "spark://x"):
        assert main(["--db", str(tmp_path / "x.duckdb"), "sweep", str(sweep_file), "--executor", executor]) == 1
        error = capsys.readouterr().err
        assert error.startswith("polyuni: error: ") and error.count("\n") == 1, error


def test_ctrl_c_stops_the_workers_and_leaves_only_complete_bundles(sweep_file, tmp_path):
    """SIGINT to the whole process group, as a terminal's Ctrl-C, while one task is held mid-run."""
    bundles = tmp_path / "bundles"
    env = {**os.environ, "POLYUNI_TEST_HOLD_TASK": f"{HELD}@{tmp_path}"}
    sweep = subprocess.Popen([str(BIN / "polyuni"), "--db", str(tmp_path / "x.duckdb"), "sweep", str(sweep_file),
                              "--executor", "local:2", "--bundles", str(bundles), "--no-mlflow"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    marker = tmp_path / f"{HELD}.pid"
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    held = int(marker.read_text())
    os.killpg(sweep.pid, signal.SIGINT)
    _, errors = sweep.communicate(timeout=60)
    assert sweep.returncode == 130 and errors.strip().splitlines() == [
        "polyuni: interrupted; nothing half-written was kept"], errors
    with pytest.raises(ProcessLookupError):  # the worker computing HELD was stopped
        os.kill(held, 0)
    assert not list(bundles.glob(f"{PARTIAL_PREFIX}*"))
    for bundle in find_bundles(bundles):  # every bundle left is complete, and not HELD's
        assert read_bundle(bundle).run["label"] != HELD and read_bundle(bundle).tables()


# --- every instrument on the executor ----------------------------------------------------------------------

INSTRUMENTS = ROOT / "scripts" / "sweeps" / "instruments.toml"
# What each instrument stored, by label or fingerprint (ids and times depend on the order of commits).
INSTRUMENT_ROWS = {
    "pseudowords": "SELECT r.label, p.* EXCLUDE (run_id) FROM pseudowords p JOIN runs r USING (run_id)",
    "pseudoword_fits": "SELECT r.label, p.* EXCLUDE (run_id) FROM pseudoword_fits p JOIN runs r USING (run_id)",
    "pseudoword_instruments": "SELECT r.label, p.* EXCLUDE (run_id) FROM pseudoword_instruments p JOIN runs r USING (run_id)",
    "feature_sets": "SELECT r.label, f.* EXCLUDE (feature_set_id, run_id, seconds, created_at, dictionary_path) "
                    "FROM feature_sets f JOIN runs r USING (run_id)",
    "features": "SELECT f.fingerprint, x.* EXCLUDE (feature_set_id) FROM features x JOIN feature_sets f USING (feature_set_id)",
    "feature_match_scores": "SELECT a.fingerprint, b.fingerprint, s.* EXCLUDE (feature_set_a, feature_set_b, created_at) "
                            "FROM feature_match_scores s JOIN feature_sets a ON a.feature_set_id = s.feature_set_a "
                            "JOIN feature_sets b ON b.feature_set_id = s.feature_set_b",
    "similarity": "SELECT a.label, b.label, s.* EXCLUDE (run_a, run_b, created_at) FROM similarity s "
                  "JOIN runs a ON a.run_id = s.run_a JOIN runs b ON b.run_id = s.run_b",
}


def instrument_rows(db: Path) -> dict:
    """Every row as text: NaN (a null without spread) equals itself only so."""
    return {"runs": repr(dump(db)), **{name: sorted(map(repr, read_only_query(db, query)[1]))
                                        for name, query in INSTRUMENT_ROWS.items()}}


@pytest.fixture(scope="module")
def instruments_on_local_cluster(tmp_path_factory):
    db = tmp_path_factory.mktemp("instruments") / "local.duckdb"
    outcomes, similarity = run_sweep(db, INSTRUMENTS, executor="local:2", track=False)
    assert all(o.result is not None for o in outcomes), [o.error for o in outcomes]
    return db, similarity


def test_every_instrument_gives_the_same_rows_on_a_local_and_a_command_line_cluster(
        instruments_on_local_cluster, dask_cluster, tmp_path):
    """Two algorithms, planted pseudowords, feature sets and comparisons: the same rows in every table
    whether a LocalCluster or command-line workers measured them, each result committed once."""
    local, similarity = instruments_on_local_cluster
    db, bundles = tmp_path / "cluster.duckdb", tmp_path / "bundles"
    outcomes, cluster_similarity = run_sweep(db, INSTRUMENTS, executor=dask_cluster, bundles=bundles, track=False)
    assert all(o.result is not None for o in outcomes), [o.error for o in outcomes]
    rows = instrument_rows(db)
    assert rows == instrument_rows(local) and cluster_similarity == similarity > 0
    fitted = read_only_query(db, "SELECT label, count(*) FROM feature_sets JOIN runs USING (run_id) GROUP BY label "
                             "ORDER BY label")[1]
    # two dictionary seeds a run (its ceiling); a planted run one, its reference's
    assert fitted == [("lee_background_8", 2), ("lee_background_8_s2", 2), ("lee_background_ppmi-svd_8", 2),
                      ("lee_background_pw6s1_8", 1), ("lee_background_pw6s1_8_s2", 1)]
    compared = read_only_query(db, "SELECT DISTINCT a.label, b.label FROM similarity JOIN runs a ON a.run_id = run_a "
                               "JOIN runs b ON b.run_id = run_b WHERE metric = 'linear_cka'")[1]
    assert ("lee_background_8", "lee_background_ppmi-svd_8") in compared and len(compared) == 3  # planted: apart
    planted = read_only_query(db, "SELECT DISTINCT label FROM pseudowords JOIN runs USING (run_id) ORDER BY label")[1]
    assert planted == [("lee_background_pw6s1_8",), ("lee_background_pw6s1_8_s2",)]
    assert any("'feature_atoms'" in row for row in rows["pseudoword_instruments"])
    assert len(list((bundles / "results").glob("fingerprint=*"))) >= 5  # published by the workers
    # a rerun measures only what is not stored (planted recovery, always): nothing changes
    run_sweep(db, INSTRUMENTS, executor=dask_cluster, bundles=bundles, track=False)
    assert instrument_rows(db) == rows


def test_a_result_bundle_is_checked_before_it_is_stored(tmp_path):
    import pyarrow as pa

    from polyuni_db.derived.result_bundle import publish_result, read_result

    good = {"run_a": [1], "run_b": [2], "metric": ["x"], "value": [0.5], "n_words": [20], "parameters": ["{}"]}
    read_result(Path(publish_result(tmp_path, "similarity", "a" * 64, {}, {"similarity": pa.table(good)})))
    for kind, name, table, message in [
        ("similarity", "similarity", {**good, "sql": ["DROP TABLE runs"]}, "columns the schema does not: sql"),
        ("similarity", "runs", good, "has no table 'runs'"),
        ("recovery", "pseudowords", {"run_id": [1], "token": ["a+b"]}, "columns the schema does not: run_id"),
    ]:
        path = Path(publish_result(tmp_path, kind, kind[0] * 63 + name[0], {}, {name: pa.table(table)}))
        with pytest.raises(PolyuniError, match=message):
            read_result(path)
    with pytest.raises(PolyuniError, match="array dictionary"):  # a feature set without its dictionary
        read_result(Path(publish_result(tmp_path, "feature_set", "f" * 64, {}, {})))


def test_the_presets_are_sweep_files_listed_by_study(tmp_path, capsys):
    from polyuni_db.cli import main
    from polyuni_db.study import preset_path, presets

    assert main(["--db", str(tmp_path / "x.duckdb"), "study", "--list"]) == 0
    listed = capsys.readouterr().out
    assert set(presets()) >= {"blog", "quick", "controls", "families"}
    assert all(line.split()[0] in presets() for line in listed.splitlines()) and len(listed.splitlines()) == len(presets())
    for name in presets():  # each checks against the schema and names its runs
        assert load_sweep(preset_path(name)).runs
    with pytest.raises(SystemExit) as exit:
        main(["--db", str(tmp_path / "x.duckdb"), "study", "--preset", "nosuch"])
    assert exit.value.code == 2 and "unknown preset 'nosuch'" in capsys.readouterr().err
    assert not (tmp_path / "x.duckdb").exists()
