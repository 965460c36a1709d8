"""A test run drops the databases that killed runs left behind, never a live run's
(tests/leftovers.py, called by tests/conftest.py at the start of a run)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import leftovers
from tests.faults import throwaway_pg
from tests.faults.throwaway_pg import ThrowawayPostgres

ROOT = Path(__file__).resolve().parent.parent


def _dead_pid() -> int:
    """The id of a process that has just ended (not reused within the test's seconds)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not leftovers.pid_alive(child.pid)
    return child.pid


def test_only_names_of_dead_runs_are_chosen():
    alive = {100, os.getppid()}
    names = [
        "test_mdg_w16_f1_100",  # live run
        "test_mdg_w16_f1_200",  # dead run
        "test_madoguchi_300_gw1",  # dead xdist worker
        "madoguchi_bench_400",  # dead bench
        f"test_madoguchi_{os.getpid()}",  # this run
        "mdg_w16_f1",  # an engineer's own database
        "madoguchi",
        "test",
        "test_500",  # not <name>_<pid>
        "postgres",
        "test_mdg_x_0",
    ]
    chosen = leftovers.dead_run_databases(names, alive=lambda pid: pid in alive)
    assert chosen == ["test_mdg_w16_f1_200", "test_madoguchi_300_gw1", "madoguchi_bench_400"]


def test_a_live_process_counts_as_alive():
    assert leftovers.pid_alive(os.getpid())
    assert leftovers.pid_alive(1)  # init: another user's process answers EPERM or 0, alive
    assert not leftovers.pid_alive(_dead_pid())


def test_sqlite_files_of_dead_runs_are_deleted_and_a_live_runs_kept(tmp_path):
    dead, live = _dead_pid(), os.getppid()
    database = tmp_path / "x.sqlite3"
    keep = [
        database,
        tmp_path / f"x.sqlite3.test-{live}",
        tmp_path / f"other.sqlite3.test-{dead}",
        tmp_path / f"x.sqlite3.test-{dead}.bak",
    ]
    gone = [
        tmp_path / f"x.sqlite3.test-{dead}",
        tmp_path / f"x.sqlite3.test-{dead}-wal",
        tmp_path / f"x.sqlite3.test-{dead}_gw2",
    ]
    for path in keep + gone:
        path.write_text("")
    removed = leftovers.drop_sqlite_leftovers(database)
    assert sorted(removed) == sorted(gone)
    assert all(p.exists() for p in keep)
    assert not any(p.exists() for p in gone)


@pytest.fixture(scope="module")
def private_server() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this module's own (tests/faults/throwaway_pg.py), on a free
    loopback port no other run knows. On the shared server another run starting at the same
    moment drops the "killed run's" database these tests make (its process is gone, for every
    run) before the run under test can: the test saw nothing dropped and failed. Here only the
    run or bench under test looks, and the other runs' databases are never in sight."""
    with throwaway_pg.started() as pg:
        yield pg


def _connect(pg: ThrowawayPostgres, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname, user="postgres", host="127.0.0.1", port=pg.port, autocommit=True
    )


def _databases(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _create(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _env(pg: ThrowawayPostgres) -> dict[str, str]:
    """This run's environment, pointed at the private server."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    env["DATABASE_URL"] = pg.url("madoguchi")
    return env


def test_a_test_run_drops_a_killed_runs_database_at_its_start_and_keeps_a_live_runs(
    private_server,
):
    """A real run of pytest (collection only): at its start the database of a run whose process
    is gone is dropped, even with a connection still open to it (a server the killed run had
    started); the database of a live run (this one's parent process stands for it) stays."""
    dead, live = _dead_pid(), os.getppid()
    dead_name, live_name = f"test_mdg_leftover_{dead}", f"test_mdg_leftover_{live}"
    with _connect(private_server) as conn:
        _create(conn, dead_name)
        _create(conn, live_name)
        try:
            orphan = _connect(private_server, dead_name)
            orphan.execute("SELECT 1")
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    "--collect-only",
                    "tests/test_str_times.py",
                ],
                cwd=ROOT,
                env=_env(private_server),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stdout + run.stderr
            headers = [
                line
                for line in run.stdout.splitlines()
                if line.startswith("dropped ") and "leftover(s) of killed test runs" in line
            ]
            assert len(headers) == 1, run.stdout
            assert dead_name in headers[0].split(": ", 1)[1].split(", ")
            assert live_name not in headers[0]
            with pytest.raises(psycopg.OperationalError):
                orphan.execute("SELECT 1")  # its database was dropped under it
            orphan.close()
            names = _databases(conn)
            assert dead_name not in names
            assert live_name in names
        finally:
            _drop(conn, dead_name)
            _drop(conn, live_name)


def test_a_killed_runs_fault_server_is_stopped_and_its_folder_deleted(tmp_path):
    """A fault test's throwaway PostgreSQL server outlives a run killed with `kill -9`: the next
    run stops it (here a stand-in process with a server's command line) and deletes its folder;
    a live run's, one whose server died long ago (its id now another process's) and one without
    an owner are handled as they should be."""
    from tests.faults.throwaway_pg import FAULTS_PG_PREFIX, OWNER_FILE

    def folder(name: str, owner: int | None) -> Path:
        path = tmp_path / f"{FAULTS_PG_PREFIX}{name}"
        (path / "data").mkdir(parents=True)
        if owner is not None:
            (path / OWNER_FILE).write_text(f"{owner}\n")
        return path

    dead, live = _dead_pid(), os.getppid()
    killed_run = folder("killed", dead)
    stand_in = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "postgres", "-D",
         str(killed_run / "data")],
    )  # fmt: skip
    (killed_run / "data" / "postmaster.pid").write_text(f"{stand_in.pid}\n{killed_run}/data\n")
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    long_dead = folder("long-dead", dead)
    (long_dead / "data" / "postmaster.pid").write_text(f"{unrelated.pid}\n")
    live_run = folder("live", live)
    no_owner = folder("no-owner", None)
    try:
        removed = leftovers.stop_dead_fault_servers(tmp_path)
        assert sorted(removed) == sorted([killed_run, long_dead])
        assert stand_in.wait(timeout=30) != 0  # stopped by a signal
        assert unrelated.poll() is None  # not the server: left running
        assert [p.exists() for p in (live_run, no_owner, killed_run, long_dead)] == [
            True,
            True,
            False,
            False,
        ]
    finally:
        for process in (stand_in, unrelated):
            process.kill()
            process.wait()


_BENCH_RUN = """
import django
django.setup()
from django.db import connection
from madoguchi.core.bench.completion import create_database, drop_database
name, original = create_database("completion")
print("created", name, connection.settings_dict["NAME"])
drop_database(name, original)
"""


def test_a_bench_drops_a_killed_benchs_database_at_its_start_and_keeps_a_live_ones(
    private_server,
):
    """`madoguchi bench completion` and `bench audit` make their database through
    `create_database`, which first drops the bench databases of dead processes (the tests'
    logic, `madoguchi.core.leftovers`), not a live bench's nor a test run's. The bench runs
    in a process of its own, on the private server."""
    dead, live = _dead_pid(), os.getppid()
    dead_name, live_name = f"madoguchi_bench_{dead}", f"madoguchi_bench_{live}"
    dead_test = f"test_mdg_leftover_{dead}"
    with _connect(private_server) as conn:
        for name in (dead_name, live_name, dead_test):
            _create(conn, name)
        try:
            env = _env(private_server) | {"DJANGO_SETTINGS_MODULE": "madoguchi.settings"}
            env.setdefault("SECRET_KEY", "test-only-not-a-secret")
            run = subprocess.run(
                [sys.executable, "-c", _BENCH_RUN],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stdout + run.stderr
            bench = run.stdout.split()
            assert bench[0] == "created", run.stdout
            name = f"madoguchi_bench_{int(bench[1].rsplit('_', 1)[1])}"
            assert bench[1:] == [name, name]  # its own database, and Django switched to it
            said = run.stderr.splitlines()
            assert f"dropped 1 leftover database(s) of killed benches: {dead_name}" in said
            names = _databases(conn)
            assert dead_name not in names
            assert live_name in names
            assert dead_test in names  # a test run's leftover is the test runs' to drop
            assert name not in names
        finally:
            for leftover in (dead_name, live_name, dead_test):
                _drop(conn, leftover)


def test_a_bench_chooses_only_its_own_dead_databases():
    alive = {100}
    names = ["madoguchi_bench_100", "madoguchi_bench_200", "test_mdg_200", "madoguchi_200"]
    chosen = leftovers.dead_run_databases(names, alive.__contains__, prefix="madoguchi_bench")
    assert chosen == ["madoguchi_bench_200"]
    assert leftovers.dead_run_databases(names, alive.__contains__) == [
        "madoguchi_bench_200",
        "test_mdg_200",
    ]


@pytest.mark.django_db
def test_a_test_database_with_a_session_left_open_on_it_is_dropped():
    """A session left connected to the test database (a thread's persistent connection, a
    child process not yet gone) made the drop at the end of the run fail ("is being accessed by
    other users"), and pytest-django only warned: the drop is forced, ending such sessions."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL: SQLite has no sessions")

    scratch = f"test_dropforce_{os.getpid()}"
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    left_open = psycopg.connect(**{**params, "dbname": scratch})
    try:
        left_open.execute("SELECT 1")
        connection.creation._destroy_test_db(scratch, verbosity=0)
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [scratch])
            assert cursor.fetchone() == (0,)
        with pytest.raises(psycopg.OperationalError):
            left_open.execute("SELECT 1")
    finally:
        left_open.close()
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
