"""Audit events are queued by record() and appended at commit: the log's head lock is taken once
per writing transaction, after every row lock of it, and never while the transaction waits
(docs/adr/1500-audit-appended-at-commit.md)."""

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from madoguchi.audit import append_function
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_chain
from madoguchi.terminals.models import Terminal
from tests import factories

from .test_concurrency import in_thread
from .test_concurrency import shared_database as shared_database


def _count() -> int:
    return in_thread(lambda: AuditEvent.objects.count())


def _backend_pid() -> int:
    """This thread's PostgreSQL backend."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _until_waiting_for_a_lock(pid: int) -> None:
    """Return once the backend `pid` waits for a lock: not a fixed pause, since on a loaded
    machine the other thread may take seconds to get there (and a minute is a failure)."""
    deadline = time.monotonic() + 60
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row is not None and row[0] == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


def _together(*steps: Callable[[], None]) -> list[BaseException]:
    """Run each step in a thread of its own (its own connection); the errors they raised."""
    errors: list[BaseException] = []

    def run(step: Callable[[], None]) -> None:
        from django.db import connection as own

        try:
            step()
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


@pytest.mark.django_db(transaction=True)
def test_events_are_written_at_commit_in_order_and_chained():
    before = _count()
    with transaction.atomic():
        first = audit.record("accounts.sign_in_failed", payload={"n": 1})
        audit.record("accounts.sign_in_failed", payload={"n": 2})
        assert first.seq is None  # queued, not yet in the log
        assert AuditEvent.objects.count() == before
    assert first.seq == before + 1
    rows = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [r.payload["n"] for r in rows] == [1, 2]
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_rollback_drops_the_queue_and_a_savepoint_rollback_only_its_own_events():
    before = AuditEvent.objects.count()

    def fail(n: str) -> None:
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"n": n})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail("rolled back")
    assert AuditEvent.objects.count() == before
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"n": "kept"})
        with pytest.raises(RuntimeError):
            fail("inner")
        audit.record("accounts.sign_in_failed", payload={"n": "kept too"})
    rows = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [r.payload["n"] for r in rows] == ["kept", "kept too"]
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_one_head_lock_per_writing_transaction():
    if connection.vendor != "postgresql":
        pytest.skip("the head lock is PostgreSQL's advisory lock (SQLite: BEGIN IMMEDIATE)")
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for n in range(5):
            with transaction.atomic():  # nested blocks queue into the same transaction
                audit.record("accounts.sign_in_failed", payload={"n": n})
    sql = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    # The append is one statement (issue 15): the append function, which takes the lock, reads
    # the head and inserts the five events; the application takes the lock nowhere else ...
    appends = [q for q in sql if append_function.NAME in q]
    assert len(appends) == 1
    assert not [q for q in sql if "pg_advisory_xact_lock" in q]
    # ... and it is sent after the last statement of the application, just before COMMIT.
    assert append_function.NAME in sql[-1]
    # Inside, the lock is taken once, after the deferred constraints and before the head read.
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [append_function.NAME])
        (body,) = cursor.fetchone()
    assert body.count("pg_advisory_xact_lock") == 1
    assert (
        body.index("SET CONSTRAINTS ALL IMMEDIATE")
        < body.index("pg_advisory_xact_lock")
        < body.index("FROM audit_auditevent")
    )
    rows = list(AuditEvent.objects.order_by("-seq")[:5])[::-1]
    assert [r.payload["n"] for r in rows] == list(range(5))
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shared_database")
def test_the_head_is_read_after_the_lock_is_granted():
    """Two connections: A holds the head lock, then appends and commits; B's append, sent while
    A holds the lock, waits and then reads the head A committed (the head read takes its
    snapshot after the lock: otherwise B would reuse A's seq and its INSERT would fail, or fork
    the chain)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory lock (SQLite: BEGIN IMMEDIATE)")
    a_holds = threading.Event()
    b_sent = threading.Event()
    seqs: dict[str, int | None] = {}
    times: dict[str, Any] = {}
    pids: dict[str, int] = {}

    def desk_a() -> None:
        with transaction.atomic():
            audit._lock_head(connection.alias)  # the same lock the append takes at commit
            a_holds.set()
            b_sent.wait(60)
            _until_waiting_for_a_lock(pids["B"])  # B's append is waiting for the lock now
            event = audit.record("accounts.sign_in_failed", payload={"who": "A"})
        seqs["A"] = event.seq

    def desk_b() -> None:
        pids["B"] = _backend_pid()
        a_holds.wait(60)
        with transaction.atomic():
            event = audit.record("accounts.sign_in_failed", payload={"who": "B"})
            b_sent.set()
        seqs["B"] = event.seq
        times["B"] = event.time

    with transaction.atomic():  # a head to read
        audit.record("accounts.sign_in_failed", payload={"who": "before"})
    before = AuditEvent.objects.count()
    assert _together(desk_a, desk_b) == []
    assert seqs == {"A": before + 1, "B": before + 2}
    rows = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [r.payload["who"] for r in rows] == ["A", "B"]
    # B's time was read before it waited, A's after: B's event takes A's time, so time never
    # decreases along seq; what B's caller was given is what was stored.
    assert rows[0].time == rows[1].time == times["B"]
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("shared_database")
def test_recording_before_a_row_lock_no_longer_deadlocks():
    """The deadlock of the old design: A records (took the global head lock), then waits for a
    row B holds; B, holding the row, records. Now A holds nothing of the log while it waits."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises whole transactions (BEGIN IMMEDIATE): no row locks")
    terminal = factories.terminal()
    b_has_row = threading.Event()
    pids: dict[str, int] = {}
    a_known = threading.Event()

    def desk_a() -> None:
        pids["A"] = _backend_pid()
        a_known.set()
        b_has_row.wait(60)
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"who": "A"})
            Terminal.objects.select_for_update().get(pk=terminal.pk)  # waits for B

    def desk_b() -> None:
        with transaction.atomic():
            Terminal.objects.select_for_update().get(pk=terminal.pk)
            b_has_row.set()
            a_known.wait(60)
            _until_waiting_for_a_lock(pids["A"])  # A has recorded and is waiting for the row now
            audit.record("accounts.sign_in_failed", payload={"who": "B"})

    before = AuditEvent.objects.count()
    assert _together(desk_a, desk_b) == []
    rows = list(AuditEvent.objects.order_by("seq"))[before:]
    assert [r.payload["who"] for r in rows] == ["B", "A"]  # in commit order
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_process_killed_while_holding_the_head_lock_does_not_stop_the_log():
    """kill -9 of a worker in the middle of its append: the server drops its connection, the
    lock goes with it, nothing of its transaction stays, and the next append goes on."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's advisory lock")
    import os
    import signal
    import subprocess
    import sys

    # The child's row is the empty log's first (the only one that may have no previous
    # event: the time-order constraints, audit.0009).
    assert not AuditEvent.objects.exists()
    settings_dict = connection.settings_dict
    dsn = (
        f"dbname={settings_dict['NAME']} user={settings_dict['USER'] or 'postgres'} "
        f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432}"
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, psycopg\n"
            "c = psycopg.connect(sys.argv[1])\n"
            "c.execute('SELECT pg_advisory_xact_lock(%s)' % sys.argv[2])\n"
            'c.execute("INSERT INTO audit_auditevent (seq, time, event_id, event_name, '
            "actor_id, actor_label, terminal_id, terminal_label, subject_type, subject_id, "
            "payload, leaf_hash, chain_hash) VALUES (1, now(), 1, 'x', '', '', '', '', "
            "'', '', '{}', '', '')\")\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            dsn,
            str(audit.ADVISORY_LOCK_KEY),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    started = time.monotonic()
    with transaction.atomic():
        event = audit.record("accounts.sign_in_failed", payload={"after": "kill"})
    assert time.monotonic() - started < 10
    assert not AuditEvent.objects.filter(event_name="x").exists()
    assert event.seq == AuditEvent.objects.count() == 1
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_append_travels_with_the_commit_in_one_round_trip(monkeypatch):
    """PostgreSQL: the append and the COMMIT are sent together (psycopg's pipeline mode), so
    the head lock is held for the server's work only, not across a round trip (issue 15,
    seventh round); a transaction without events commits as before."""
    if connection.vendor != "postgresql":
        pytest.skip("psycopg's pipeline mode (SQLite appends in Python)")
    import psycopg

    pipelined: list[bool] = []
    real = psycopg.Connection.commit

    def commit(self: psycopg.Connection[Any]) -> None:
        pipelined.append(self._pipeline is not None)
        real(self)

    monkeypatch.setattr(psycopg.Connection, "commit", commit)
    before = _count()
    with transaction.atomic():
        event = audit.record("accounts.sign_in_failed", payload={"n": "with"})
    with transaction.atomic():
        Terminal.objects.filter(pk=-1).update(location="x")  # a transaction without events
    assert pipelined == [True, False]
    assert event.seq == before + 1
    assert event.chain_hash
    assert _count() == before + 1  # committed: another connection sees it
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_an_append_that_fails_commits_nothing_and_the_connection_goes_on():
    """A deferred constraint broken in the transaction fails the append (its first step checks
    the deferred constraints); the COMMIT sent with it is skipped: nothing of the transaction
    is written, and the next transaction on the connection works."""
    if connection.vendor != "postgresql":
        pytest.skip("the append function's deferred-constraint check")
    from django.db import IntegrityError

    before = _count()
    terminals = Terminal.objects.count()

    def orphan_with_an_event() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO terminals_terminal (name, location, is_active, created_at, "
                    "contractor_id) VALUES ('orphan', '', true, now(), -1)"
                )
            audit.record("accounts.sign_in_failed", payload={"n": "lost"})

    with pytest.raises(IntegrityError):
        orphan_with_an_event()
    assert _count() == before
    assert Terminal.objects.count() == terminals
    with transaction.atomic():
        event = audit.record("accounts.sign_in_failed", payload={"n": "next"})
    assert event.seq == before + 1
    assert _count() == before + 1
    assert verify_chain().ok
