"""`madoguchi bench completion`'s server-side timing (issue 15, seventh round): the bench
server's middleware answers each request's time by part, and the bench reads it back."""

import contextlib
import itertools
import time

import httpx
import psycopg
import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from madoguchi.core.bench import completion as bench
from madoguchi.core.bench import server


def _unwrap():
    connection.execute_wrappers.remove(server._count)
    for name in ("commit", "rollback"):
        if hasattr(getattr(connection, name), "__wrapped__"):
            delattr(connection, name)


@pytest.mark.django_db(transaction=True)
def test_the_bench_counts_audit_locks_per_transaction_without_asking_the_database(monkeypatch):
    """The head lock taken twice in one transaction counts as two in that transaction, once in
    each of two transactions (committed or rolled back) as one each, a statement in autocommit
    as a transaction of its own; and no statement is sent to find out (it was `txid_current()`
    before each append, a round trip only the bench added)."""
    if connection.vendor != "postgresql":
        pytest.skip("the head lock is PostgreSQL's")
    connection.ensure_connection()  # its set-up statements (time zone) before the count
    server._on_connection(None, connection)
    server._lock_transactions[:] = [0, 0]
    lock = "SELECT pg_advisory_xact_lock(4242)"
    sent, executed = [], []
    real_execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):  # every statement psycopg sends
        executed.append(query)
        return real_execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(record):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(lock)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1")  # no lock: not a locking transaction
            assert server._lock_transactions == [1, 1]
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(lock)
                cursor.execute(lock)
            assert server._lock_transactions == [2, 2]
            with contextlib.suppress(RuntimeError), transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(lock)
                raise RuntimeError("rolled back")
            with connection.cursor() as cursor:
                cursor.execute(lock)  # autocommit
            assert server._lock_transactions == [4, 2]
        # Only the statements the code sent reached the database (no `txid_current()`).
        assert sent == [lock, "SELECT 1", lock, lock, lock, lock]
        assert len(executed) == len(sent)
    finally:
        _unwrap()


def test_the_bench_middleware_times_each_request_by_part(db):
    server._on_connection(None, connection)  # as `connection_created` does in the bench server
    try:

        def view(request):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            assert server._label('UPDATE "desk_visit" SET x = 1 FROM "b"') == "UPDATE desk_visit"
            assert (
                server._label('SELECT "a" FROM "identity_nonce" WHERE') == "SELECT identity_nonce"
            )
            time.sleep(0.02)
            return HttpResponse("ok")

        sent = time.time() - 0.05
        request = RequestFactory().post("/api/v1/visits/current/complete")
        request.META["HTTP_X_BENCH_SENT"] = repr(sent)
        response = server.BucketMiddleware(view)(request)
        timing = bench.server_timing(httpx.Response(200, headers=dict(response.items())))
        assert set(timing) == {"queue", "app", "cpu", "db", "commit", "slowest", "slowest_desc"}
        assert timing["slowest_desc"] == "SELECT"
        assert timing["queue"] >= 50
        assert timing["app"] >= 20 > timing["cpu"]
        assert 0 < timing["db"] < timing["app"]
        counts = server._counts
        assert counts["endpoint./api/v1/visits/current/complete.requests"] >= 1
        # Without the client's clock, no queue part.
        plain = server.BucketMiddleware(view)(RequestFactory().get("/desk/"))
        assert "queue" not in bench.server_timing(httpx.Response(200, headers=dict(plain.items())))
    finally:
        _unwrap()


def test_the_bench_reads_the_completion_by_part():
    r = bench.Result(desks=1, duration=1)
    r.complete_timing = [
        {"total": 100.0, "queue": 10.0, "app": 80.0, "cpu": 20.0, "db": 30.0, "commit": 5.0},
        {"total": 300.0, "queue": 50.0, "app": 200.0, "cpu": 20.0, "db": 150.0, "commit": 10.0},
    ]
    lines = "\n".join(bench._timing_lines(r))
    assert "queue" in lines
    assert "after" in lines
    assert r.complete_timing[1]["after"] == 50.0
    assert r.complete_timing[1]["wait"] == 20.0


def test_a_run_where_no_visit_completed_gives_no_verdict_instead_of_target_met():
    """Every figure per visit is 0 when no visit completed (all failed, or lapsed under load):
    "0.0 statements per visit - target met" passed such a run."""
    result = bench.Result(desks=2, duration=5.0, visit_elapsed=5.0, floor_rates=[100.0, 100.0])
    result.errors["presence_lost"] = 3
    lines = bench.report(result)
    verdicts = [line for line in lines if "target" in line]
    assert len(verdicts) == 4, lines
    for line in verdicts:
        assert line.endswith("no verdict: no visit completed"), line
    assert not any("target met" in line for line in lines)
    result.visits, result.complete_ms = 10, [100.0] * 10
    assert any(line.endswith("target met") for line in bench.report(result))


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("completion", "--desks", "0"), "--desks: must be at least 1 (it was 0)."),
        (("completion", "--seconds", "0"), "--seconds: must be more than 0 (it was 0)."),
        (
            ("completion", "--floor-seconds", "-1"),
            "--floor-seconds: must be more than 0 (it was -1).",
        ),
        (("completion", "--polls", "-1"), "--polls: must be at least 0 (it was -1)."),
        (("audit", "--desks", "0"), "--desks: must be at least 1 (it was 0)."),
        (("audit", "--events", "0"), "--events: must be at least 1 (it was 0)."),
        (("audit", "--verify-events", "-1"), "--verify-events: must be at least 0 (it was -1)."),
        (("scan", "--links", "99"), "--links: must be at least 100 (it was 99)."),
        (("namecheck", "--pairs", "0"), "--pairs: must be at least 1 (it was 0)."),
        (("namecheck", "--repeat", "0"), "--repeat: must be at least 1 (it was 0)."),
        (("completion", "--desks", "two"), "--desks: invalid whole number value: 'two'"),
        (("completion", "--seconds", "x"), "--seconds: invalid number value: 'x'"),
        (("nosuch",), "name: invalid choice: 'nosuch' (choose from 'audit', 'completion',"),
    ],
)
def test_bench_options_out_of_range_are_refused_before_anything_runs(args, sentence):
    """`bench audit --desks 0` was a ZeroDivisionError after creating its database; `bench
    completion --desks 0` ran a server and printed verdicts for nobody. argparse refuses them
    through the options' own types and choices, naming the option."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as refused:
        call_command("bench", *args)
    assert str(refused.value).startswith(f"Error: argument {sentence}")


@pytest.mark.parametrize(
    ("bench", "option", "value", "bound"),
    [
        ("namecheck", "--pairs", "99999999999999999999", "at most 1,000,000,000"),
        ("scan", "--links", "1000000001", "at most 1,000,000,000"),
        ("scan", "--seed", "4294967296", "at most 4,294,967,295"),
        ("scan", "--seed", "-1", "at least 0"),
        ("scan", "--spark-links", "-1", "at least 0"),
        ("scan", "--pandas-links", "-5", "at least 0"),
        ("scan", "--spark-timeout", "0", "more than 0"),
    ],
)
def test_bench_numbers_past_what_the_bench_takes_are_refused(bench, option, value, bound):
    """Past 64 bits `--pairs`, `--links` and `--seed` were numpy's or the generator's
    OverflowError traceback; a negative `--spark-links` or `--pandas-links` was taken."""
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as refused:
        call_command("bench", bench, option, value)
    assert str(refused.value) == f"Error: argument {option}: must be {bound} (it was {value})."


def test_a_bench_stopped_by_sigterm_drops_its_database(tmp_path):
    """`timeout 600 madoguchi bench audit` (or a cancelled job) sent SIGTERM, which ended the
    process at once and left its database `madoguchi_bench_<pid>` on the server; it now leaves
    through the bench's cleanup, as Ctrl-C does, and exits 143."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the benches run on PostgreSQL")
    madoguchi = str(Path(sys.executable).with_name("madoguchi"))
    proc = subprocess.Popen(
        [madoguchi, "bench", "audit", "--events", "100000", "--desks", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    name = f"madoguchi_bench_{proc.pid}"

    def exists() -> bool:
        with psycopg.connect(url, dbname="postgres", autocommit=True) as server:
            found = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return found.fetchone() is not None

    try:
        deadline = time.monotonic() + 120
        while not exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the bench never created its database"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err
    assert not exists()


def _bench_in_a_process(tmp_path, stop: str, *args: str) -> tuple[int, str, bool]:
    """`madoguchi bench ARGS` in a process of its own, `stop` (Python run after Django's setup)
    stopping it somewhere: its exit status, its stderr, and whether its database
    `madoguchi_bench_<pid>` was left on the server (dropped here if so)."""
    import os
    import subprocess
    import sys

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the benches run on PostgreSQL")
    code = (
        f"import django\ndjango.setup()\n{stop}\n"
        f"from django.core.management import call_command\ncall_command('bench', *{args!r})\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    name = f"madoguchi_bench_{proc.pid}"
    _, err = proc.communicate(timeout=120)
    with psycopg.connect(url, dbname="postgres", autocommit=True) as server:
        left = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if left:
            # IF EXISTS: another test run's start on the same server drops a bench database
            # whose process has ended (tests/test_leftover_databases.py), and this one's has.
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return proc.returncode, err, left is not None


def test_a_stop_inside_the_drivers_commit_leaves_with_the_stops_code(monkeypatch):
    """SIGTERM arriving inside a transaction's commit: the transaction, unable to end, raised
    its own error on the way out ("can't change 'autocommit' now: connection in transaction
    status INTRANS") and the bench left with 1, not the stop's 143 (a fresh clone's CI run,
    5 Dec 2026). What a bench raises after the stop is the stop's."""
    import signal

    from django.core.management import call_command
    from django.db import ProgrammingError

    from madoguchi.core.management.commands import bench as command

    def stopped_in_commit(opts):
        try:
            command._stopped(signal.SIGTERM, None)  # the handler, as the signal runs it
        except SystemExit:
            raise ProgrammingError("can't change 'autocommit' now") from None
        return []

    # The command installs its SIGTERM handler in this process: put the test run's back.
    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(signal, "signal", lambda *args: previous)
    monkeypatch.setitem(command.BENCHES, "audit", stopped_in_commit)
    monkeypatch.setattr(command, "_signalled", [])
    with pytest.raises(SystemExit) as stop:
        call_command("bench", "audit")
    assert stop.value.code == 128 + signal.SIGTERM
    # Without a stop, a bench's error is its own.
    monkeypatch.setattr(command, "_signalled", [])
    monkeypatch.setitem(
        command.BENCHES, "audit", lambda opts: (_ for _ in ()).throw(ProgrammingError("x"))
    )
    with pytest.raises(ProgrammingError):
        call_command("bench", "audit")


def test_a_kept_database_is_left_by_the_commands_last_cleanup(tmp_path):
    """`bench completion --keep` keeps its database on purpose, even when the run stops early:
    the command's last cleanup (which drops a database its bench made and did not drop) leaves
    a kept one where it is."""
    # The run stopped right after its database was made: seeding it fails.
    stop = (
        "from madoguchi.core.bench import completion\n"
        "def seed(*args, **kwargs):\n"
        "    raise completion.BenchError('stopped while seeding')\n"
        "completion.seed = seed"
    )
    _, err, left = _bench_in_a_process(
        tmp_path, stop, "completion", "--keep", "--desks", "1", "--seconds", "1"
    )
    assert "stopped while seeding" in err
    assert left


def test_a_kept_run_says_what_it_kept_and_where():
    """`bench completion --keep` kept its database and files without naming them."""
    result = bench.Result(desks=1, duration=1.0, visits=1, visit_elapsed=1.0, complete_ms=[1.0])
    assert not any("kept" in line for line in bench.report(result))
    result.kept = "database madoguchi_bench_7 on the same server, files (the server's log) in /x"
    assert "  kept (--keep):        database madoguchi_bench_7" in "\n".join(bench.report(result))


def test_the_bench_labels_only_the_requests_slowest_statement_once(db, monkeypatch):
    """Labelling a statement (its words upper-cased) is the bench's own CPU: it is done once a
    request, for the slowest statement, not for every statement slower than the ones before
    (issue 15, twelfth round)."""
    server._on_connection(None, connection)
    clock = (float(i * i) for i in itertools.count())  # each statement slower than the last
    monkeypatch.setattr(server.time, "perf_counter", lambda: next(clock))
    labelled = []
    label = server._label
    monkeypatch.setattr(server, "_label", lambda sql: labelled.append(sql) or label(sql))
    try:

        def view(request):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.execute("SELECT 2")
                cursor.execute('SELECT 3 FROM "desk_visit"')
            return HttpResponse("ok")

        request = RequestFactory().post("/api/v1/visits/current/complete")
        response = server.BucketMiddleware(view)(request)
        timing = bench.server_timing(httpx.Response(200, headers=dict(response.items())))
        assert timing["slowest_desc"] == "SELECT desk_visit"
        assert labelled == ['SELECT 3 FROM "desk_visit"']
    finally:
        _unwrap()


def test_a_poll_way_with_no_poll_answered_gives_no_figure_per_poll():
    """A run where every poll of one way failed printed "0 polls, server CPU 3280 ms/poll": the
    whole way's CPU charged to no poll. It now says no poll was answered, and the other way's
    figures stand."""
    result = bench.Result(desks=1, duration=1.0, visits=1, visit_elapsed=1.0, complete_ms=[1.0])
    result.polls = {
        "state": {"polls": 0, "cpu_s": 3.28, "statements": 0, "not_modified": 0, "lost": 5},
        "summary": {"polls": 10, "cpu_s": 0.2, "statements": 20, "not_modified": 5},
    }
    text = "\n".join(bench.report(result))
    assert "desk page poll (state): no poll answered (5 lost: connection reset)" in text
    assert "ms/poll" in text.split("(summary)")[1]
    assert "3280" not in text
    assert "summary / state" not in text
    assert "desk page poll (summary): 10 polls, server CPU 20.00 ms/poll" in text


def test_the_audit_bench_reports_the_events_it_appended_not_those_asked():
    """`bench audit --events 2000` with 32 threads appends 62 a thread, 1,984 in all: its first
    line said "2000 events" over rates and a verify of 1,984."""
    from madoguchi.core.bench.audit import AuditResult, report

    first = report(AuditResult(events=1984, clients=32, asked=2000, append_per_s=1, insert_per_s=2))
    assert first[0].startswith("audit log: 1,984 events (2,000 asked, 62 a thread) from 32 threads")
    whole = report(AuditResult(events=2048, clients=32, asked=2048, append_per_s=1, insert_per_s=2))
    assert whole[0].startswith("audit log: 2,048 events from 32 threads (one connection each)")


def test_a_bench_stopped_right_after_creating_its_database_drops_it(tmp_path):
    """A SIGTERM that came just after CREATE DATABASE, before the bench's own try
    (`test_a_bench_stopped_by_sigterm_drops_its_database` sends it as the database appears), ended the process through SystemExit with
    its database left on the server (`madoguchi_bench_<pid>` seen after a 143 exit). The
    command drops a database its bench made and did not drop, on the way out."""
    # The bench stopped where the SIGTERM came: its result, made just after the database.
    stop = (
        "from madoguchi.core.bench import audit\n"
        "def stopped(*args, **kwargs):\n"
        "    raise SystemExit(143)\n"
        "audit.AuditResult = stopped"
    )
    status, err, left = _bench_in_a_process(
        tmp_path, stop, "audit", "--events", "10", "--desks", "1"
    )
    assert status == 143, err
    assert not left
