"""A test run drops the databases that killed runs left behind, never a live run's
(tests/leftovers.py, called by tests/conftest.py at the start of a run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

from tests import leftovers

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


def _server() -> dict:
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("postgresql"):
        pytest.skip("the databases of a PostgreSQL server")
    return database


def _connect(database: dict) -> psycopg.Connection:
    return psycopg.connect(
        dbname="postgres",
        user=database["USER"],
        host=database["HOST"],
        port=database["PORT"],
        password=database.get("PASSWORD") or None,
        autocommit=True,
    )


def _databases(conn: psycopg.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _create(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.postgres_only
def test_a_test_run_drops_a_killed_runs_database_at_its_start_and_keeps_a_live_runs():
    """A real run of pytest (collection only): at its start the database of a run whose process
    is gone is dropped, even with a connection still open to it (a server the killed run had
    started); the database of a live run (this one's parent process stands for it) stays."""
    database = _server()
    dead, live = _dead_pid(), os.getppid()
    dead_name, live_name = f"test_mdg_leftover_{dead}", f"test_mdg_leftover_{live}"
    with _connect(database) as conn:
        _create(conn, dead_name)
        _create(conn, live_name)
        try:
            orphan = psycopg.connect(
                dbname=dead_name,
                user=database["USER"],
                host=database["HOST"],
                port=database["PORT"],
                password=database.get("PASSWORD") or None,
                autocommit=True,
            )
            orphan.execute("SELECT 1")
            env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
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
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stdout + run.stderr
            header = next(
                line
                for line in run.stdout.splitlines()
                if line.startswith("dropped ") and "leftover(s) of killed test runs" in line
            )
            assert dead_name in header.split(": ", 1)[1].split(", ")
            assert live_name not in header
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


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_bench_drops_a_killed_benchs_database_at_its_start_and_keeps_a_live_ones(capsys):
    """`madoguchi bench completion` and `bench audit` make their database through
    `create_database`, which first drops the bench databases of dead processes (the tests'
    logic, `madoguchi.core.leftovers`), not a live bench's nor a test run's."""
    from django.db import connection

    from madoguchi.core.bench.completion import create_database, drop_database

    database = _server()
    dead, live = _dead_pid(), os.getppid()
    dead_name, live_name = f"madoguchi_bench_{dead}", f"madoguchi_bench_{live}"
    dead_test = f"test_mdg_leftover_{dead}"
    with _connect(database) as conn:
        for name in (dead_name, live_name, dead_test):
            _create(conn, name)
        try:
            name, original = create_database("completion")
            try:
                assert name == f"madoguchi_bench_{os.getpid()}"
                assert connection.settings_dict["NAME"] == name
            finally:
                drop_database(name, original)
            names = _databases(conn)
            assert dead_name not in names
            assert live_name in names
            assert dead_test in names  # a test run's leftover is the test runs' to drop
            assert name not in names
            # Another run's start on the shared server may have dropped it first: what this
            # bench says names no live one.
            said = capsys.readouterr().err
            assert live_name not in said
            assert dead_test not in said
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
