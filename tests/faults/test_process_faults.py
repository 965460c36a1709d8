"""Issue 15, faults: workers killed and PostgreSQL crashed under a load of completions.

`madoguchi serve` (gunicorn, two workers) runs against a throwaway PostgreSQL server started by
this test on another port (the shared server is never touched). Desks drive whole visits over
HTTP with virtual cards, with the driver of `madoguchi bench completion`. Meanwhile gunicorn
workers are killed with SIGKILL and PostgreSQL is stopped as a crash stops it (``pg_ctl -m
immediate``: no checkpoint, recovery replays the WAL) and started again, several times each.

Afterwards: every completion whose success reached a desk is in the database with all its rows
(the completion, its committed procedure, its ``visits.completed`` audit event); no procedure is
half-written (nothing committed without a completion, no completion with a procedure not
committed or without its event); `madoguchi audit verify` passes; and once every desk's card is
reported removed, no visit is left open. Desks complete visits again after the last fault.

Bounded: the load lasts as long as six faults and a completion after each take (tens of seconds
on an idle machine), with hard timeouts on every wait; the server, its sweeper and the
throwaway PostgreSQL are stopped and removed whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from django.conf import settings
from django.db import connection

from madoguchi.core.bench import completion as bench
from tests.faults.throwaway_pg import ThrowawayPostgres, binaries

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only"
    ),
]
T = TypeVar("T")

DESKS = 4
# Three rounds of each fault. The next fault waits until a desk has completed a visit since the
# previous one (at most PROGRESS_WAIT seconds), so that every fault lands on a working system
# however loaded the machine is; after the last one desks must complete visits again.
FAULTS = ["kill_worker", "crash_postgres", "kill_worker", "crash_postgres"]
FAULTS += ["kill_all_workers", "crash_postgres"]
MIN_GAP = 2.0
PROGRESS_WAIT = 60.0
LOAD_LIMIT = 600.0  # the desks' own bound; the progress waits end the load long before


def _on(port: int, name: str, fn: Callable[[], T]) -> T:
    """`fn()` in a thread whose database connection is to `name` on the throwaway server (the
    test's own connection, in its transaction on the test database, is left alone)."""
    out: dict[str, Any] = {}

    def run() -> None:
        connection.settings_dict = {
            **connection.settings_dict,
            "HOST": "127.0.0.1",
            "PORT": port,
            "NAME": name,
        }
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    assert not thread.is_alive(), "the throwaway database did not answer"
    if "error" in out:
        raise out["error"]
    return out["value"]  # type: ignore[no-any-return]


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append((int(entry.name), cmdline))
    return found


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, cmd in _children(server.pid) if "gunicorn" in cmd and "sweep" not in cmd]


def _wait_healthy(base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=3).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"the server did not answer /healthz within {seconds:.0f} s")


def _stop_server(server: subprocess.Popen[bytes]) -> None:
    helpers = [pid for pid, _ in _children(server.pid)]
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    for pid in helpers:  # the sweeper (it would stop by itself, at its next round)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def postgres():
    bindir = binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries installed")
    pg = ThrowawayPostgres(bindir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()


def test_completions_survive_killed_workers_and_postgres_crashes(
    postgres, db, tmp_path, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the fault test runs on PostgreSQL")
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    work = tmp_path
    (work / "pki").mkdir()
    name = "faults"
    s = connection.settings_dict
    postgres.createdb_from(bench._database_url(dict(s), s["NAME"]), name)  # the test database
    desks = _on(postgres.port, name, lambda: bench.seed(DESKS, work))
    url = postgres.url(name)
    port = bench._free_port()
    base = f"http://127.0.0.1:{port}"
    server = bench.start_server(url, port, work)
    try:
        for desk in desks:
            bench.desk_sign_in(desk, base)
        told: list[bench.Completed] = []
        lock = threading.Lock()

        def heard(done: bench.Completed) -> None:
            with lock:
                told.append(done)

        def progress_after(count: int) -> bool:
            """Wait until a desk was told of a completion beyond the first `count`."""
            deadline = time.monotonic() + PROGRESS_WAIT
            while time.monotonic() < deadline:
                with lock:
                    if len(told) > count:
                        return True
                time.sleep(0.2)
            return False

        result = bench.Result(desks=DESKS, duration=LOAD_LIMIT)
        halt = threading.Event()
        load = threading.Thread(
            target=bench.visits_run,
            args=(desks, base, LOAD_LIMIT, result),
            kwargs={"on_complete": heard, "halt": halt},
            daemon=True,
        )
        load.start()
        killed = 0
        try:
            mark = 0  # completions the desks were told of before the previous fault
            for fault in FAULTS:
                time.sleep(MIN_GAP)
                progress_after(mark)
                with lock:
                    mark = len(told)
                if fault == "crash_postgres":
                    postgres.crash_and_restart()
                    continue
                workers = _workers(server)
                assert workers, "gunicorn has no workers"
                for pid in workers if fault == "kill_all_workers" else workers[:1]:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
            with lock:
                after_last_fault = len(told)
            recovered = progress_after(after_last_fault)
        finally:
            halt.set()
        load.join(timeout=150)  # in-flight requests are bounded by the clients' timeouts
        assert not load.is_alive(), "the desks did not stop"
        assert server.poll() is None, "gunicorn's master died"
        assert killed >= 4

        # Every desk's card is taken away (the agent reports it until the server hears it).
        _wait_healthy(base, 90)
        with httpx.Client(base_url=base, timeout=30) as agent:
            for desk in desks:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        bench.agent_event(agent, desk, "removed", desk.fingerprint)
                        break
                    except (bench.VisitFailed, httpx.HTTPError):
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.5)
        for desk in desks:
            if desk.http is not None:
                desk.http.close()
        verify = subprocess.run(
            [str(Path(sys.executable).with_name("madoguchi")), "audit", "verify"],
            env={
                **os.environ,
                "DATABASE_URL": url,
                "SECRET_KEY": "bench-only-not-a-secret",
                "MADOGUCHI_DATA_DIR": str(work / "data"),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        _stop_server(server)

    assert told, f"no completion reached a desk: {dict(result.errors)}"
    assert recovered, f"no desk completed a visit after the last fault: {dict(result.errors)}"
    assert verify.returncode == 0, verify.stdout + verify.stderr
    _on(postgres.port, name, lambda: _assert_consistent(told))


def _assert_consistent(told: list[Any]) -> None:
    from madoguchi.audit.models import AuditEvent
    from madoguchi.desk.constants import ProcedureStatus
    from madoguchi.desk.models import Completion, Procedure, Visit

    completed_events = AuditEvent.objects.filter(event_name="visits.completed")
    # What the desks were told is there, with all its rows.
    for done in told:
        p = Procedure.objects.select_related("visit", "completion").get(
            kind="test_link", fields__account=done.account
        )
        assert p.status == ProcedureStatus.COMMITTED, done
        assert p.completion is not None, done
        assert p.visit.reference == done.reference, done
        assert completed_events.filter(
            subject_type="desk.completion", subject_id=str(p.completion.pk)
        ).exists(), done
    # Nothing half-written, whatever the desks were told.
    assert not Procedure.objects.filter(
        status=ProcedureStatus.COMMITTED, completion__isnull=True
    ).exists()
    assert (
        not Procedure.objects.filter(completion__isnull=False)
        .exclude(status=ProcedureStatus.COMMITTED)
        .exists()
    )
    completions = Completion.objects.all()
    assert completions.count() >= len(told)
    for c in completions:
        assert c.procedures.filter(status=ProcedureStatus.COMMITTED).exists(), c.pk
        assert completed_events.filter(subject_id=str(c.pk)).count() == 1, c.pk
    assert completed_events.count() == completions.count()
    # Every card was taken away: no visit is left open.
    assert not Visit.objects.filter(ended_at__isnull=True).exists()
