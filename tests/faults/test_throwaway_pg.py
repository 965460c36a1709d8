"""The fault tests' throwaway PostgreSQL takes a port that is free when the server binds it, and
says why when it cannot start (a loaded machine runs other servers and tests meanwhile)."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings

from tests.faults import throwaway_pg
from tests.faults.throwaway_pg import ThrowawayPostgres, binaries

pytestmark = [
    pytest.mark.postgres_only,  # no database of the suite's: run once, in the PostgreSQL pass
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only"
    ),
]


def _answers(pg: ThrowawayPostgres) -> bool:
    with socket.create_connection(("127.0.0.1", pg.port), timeout=10):
        return True


def test_a_port_taken_before_the_first_start_and_during_a_restart(monkeypatch):
    bindir = binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries installed")
    taken = socket.socket()  # another process's server, on the port the first start is given
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    held = int(taken.getsockname()[1])
    ports = iter([held])
    free = throwaway_pg._free_port
    monkeypatch.setattr(throwaway_pg, "_free_port", lambda: next(ports, None) or free())
    pg = ThrowawayPostgres(bindir)
    try:
        pg.init()
        pg.start()  # the given port is taken when the server binds it: it takes another
        assert pg.port != held
        assert _answers(pg)
        taken.close()

        # A restart keeps its port (its clients know it); while it is held, it says why.
        pg.stop("immediate")
        taken = socket.socket()
        taken.bind(("127.0.0.1", pg.port))
        taken.listen()
        pg.bind_wait = 0
        with pytest.raises(AssertionError, match=f"did not start on port {pg.port}") as failed:
            pg.start()
        assert "could not bind" in str(failed.value)  # the server's log, in the failure
        taken.close()
        pg.start()
        assert _answers(pg)
    finally:
        taken.close()
        pg.remove()


def test_the_server_of_a_killed_run_is_stopped_and_removed_by_the_next_run():
    """A run killed with `kill -9` in the middle of a fault test leaves its throwaway server
    running (pg_ctl starts it apart from the test's process): the next run's start
    (tests/leftovers.py) stops it and deletes its folder."""
    import subprocess
    import sys
    from pathlib import Path

    from tests import leftovers

    if binaries() is None:
        pytest.skip("no PostgreSQL binaries installed")
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from tests.faults.throwaway_pg import ThrowawayPostgres, binaries\n"
            "pg = ThrowawayPostgres(binaries()); pg.init(); pg.start()\n"
            "print(pg.dir, pg.port, flush=True); time.sleep(600)\n",
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = run.stdout.readline() if run.stdout else ""
        assert line, "the stand-in run did not start its server"
        folder, port = Path(line.split()[0]), int(line.split()[1])
        pg = ThrowawayPostgres.__new__(ThrowawayPostgres)
        pg.port = port
        assert _answers(pg)
    finally:
        run.kill()  # as kill -9: its server keeps running
        run.wait()
    assert folder.exists()
    removed = leftovers.stop_dead_fault_servers(folder.parent)
    assert folder in removed
    assert not folder.exists()
    with pytest.raises(ConnectionRefusedError):
        _answers(pg)
