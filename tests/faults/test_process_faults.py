"""Issue 15, faults: workers killed and PostgreSQL crashed under a load of completions.

`madoguchi serve` (gunicorn, two workers, its sweeper) and `madoguchi outside worker` (the
outbox's worker) run against a throwaway PostgreSQL server started by this test on another port
(the shared server is never touched); the simulated insurer runs as a real HTTP server in this
process, on a loopback port. Desks drive whole visits over HTTP with virtual cards, with the
driver of `madoguchi bench completion`; every second visit of a desk is a resident of its own who
also registers health-insurance use (committed as `registering` with its outbox call; the
worker registers it at the insurer). Meanwhile gunicorn workers are killed with SIGKILL,
PostgreSQL is stopped as a crash stops it (``pg_ctl -m immediate``: no checkpoint, recovery
replays the WAL) and started again, and the outbox worker is killed with SIGKILL (once at the
worst moment: after the insurer registered a call, before the worker heard the answer) and
another started, several times each.

Afterwards:

- every completion whose success reached a desk is in the database with all its rows (the
  completion, its committed procedures, its ``visits.completed`` audit event; a health-insurance
  registration with its outbox call and audit events); nothing is half-written;
- the outbox drains: every call is answered (`done`) within a bounded wait;
- the insurer and the database agree: `madoguchi outside reconcile` reports 0 disagreements, and
  directly: each call's idempotency key registered at the insurer exactly once, the insurer's
  registrations are exactly the calls that are `done` (same card), nothing registered twice;
- `madoguchi audit verify` passes;
- no visit is left open that should have ended: once the desks stop (their agents stop
  reporting), every visit's presence lapses within ``VISIT_PRESENCE_TIMEOUT_SECONDS``; the
  sweeper must end each (however late a starved sweeper runs), and every visit that ended by a
  lapse ended at the moment its limit passed (`lapse(visit, ended_at)` is its reason and end
  time).
- desks complete visits again after the last fault.

Bounded: the load lasts as long as the faults and a completion after each take (about a minute
on an idle machine), with hard timeouts on every wait; the server, its sweeper, the outbox
worker, the simulated insurer and the throwaway PostgreSQL are stopped and removed whatever
happens.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from django.conf import settings
from django.db import connection

from madoguchi.core.bench import completion as bench
from madoguchi.outside.sim import running
from tests.faults import throwaway_pg
from tests.faults.throwaway_pg import ThrowawayPostgres

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only"
    ),
]
T = TypeVar("T")

DESKS = 4
WORKERS = 2  # gunicorn's
INSURED = 5  # residents per desk who register health-insurance use (every 2nd visit; 1 kept)
# Each fault waits until a desk has completed a visit since the previous one (at most
# PROGRESS_WAIT seconds), so that every fault lands on a working system however loaded the
# machine is; the first also waits until a registration has completed (`_load_with_faults`);
# after the last one desks must complete visits again. `kill_all_workers` kills
# the outbox worker too, wherever it is. Besides, the insurer kills the outbox worker once
# itself, at its first registration: right after it registered the call and before the answer
# is sent (a crash between the outside answer and our update). A new outbox worker is started
# as soon as one is found dead.
FAULTS = ["kill_worker", "crash_postgres", "kill_worker", "crash_postgres"]
FAULTS += ["kill_all_workers", "crash_postgres"]
MIN_GAP = 2.0
# Every wait below is on a condition and returns as soon as it holds; its bound only says how
# long a loaded 2-core machine may take before the test calls it a failure.
PROGRESS_WAIT = 180.0
WORKERS_WAIT = 60.0  # gunicorn's master has started a killed worker's successor
LOAD_LIMIT = 600.0  # the desks' own bound; the progress waits end the load long before
DRAIN_WAIT = 90.0  # the outbox drains (the worker's lease and backoff are seconds here)
SWEEP_SECONDS = 2  # the sweeper's interval under `madoguchi serve`
# Once no card is reported, every visit's presence lapses within VISIT_PRESENCE_TIMEOUT_SECONDS
# and the sweeper ends it at its next round: a few seconds on an idle machine, but a sweeper
# process starved of CPU may take much longer. How long it took is not what is checked (a
# visit's end time is its lapse's, whenever the sweeper ran); that it happened is.
LAPSE_WAIT = 120.0
# The outbox in this test: a killed worker's claim runs out in LEASE seconds (longer than one
# claim can take with these timeouts, which the settings check: 3 requests x 2 attempts x
# (0.5 + 1 s), + backoff = 9.6 s), retries back off from 0.5 s up to 2 s. No kick after the
# commit: every insurer call is the worker's, so killing it matters.
OUTSIDE_ENV = {
    "OUTSIDE_LEASE_SECONDS": "10",
    "OUTSIDE_BACKOFF_INITIAL": "0.5",
    "OUTSIDE_BACKOFF_MAX": "2",
    "OUTSIDE_CONNECT_TIMEOUT": "0.5",
    "OUTSIDE_READ_TIMEOUT": "1",
    "OUTSIDE_ATTEMPTS": "2",
    "OUTSIDE_KICK": "0",
}


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


def _all_workers(server: subprocess.Popen[bytes]) -> list[int]:
    """gunicorn's workers once it runs as many as it was told to (WORKERS), else []."""
    workers = _workers(server)
    return workers if len(workers) >= WORKERS else []


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
    with throwaway_pg.started() as pg:
        yield pg


class Insurer:
    """The simulated insurer (a real HTTP server on a loopback port, in this process), watched:
    every registration it processed (not a replay of a stored answer) is logged with its request
    reference, and `kill_on_answer(kill)` makes the next one call `kill` before it is answered."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.base_url: str = sim.base_url
        self.processed: list[tuple[str, int, str]] = []  # (request_ref, HTTP status, status)
        self._kill: Callable[[], None] | None = None
        self.killed_on_answer = threading.Event()
        app = sim.server.app
        handle = app.handle

        def watched(method: str, parts: list[str], body: dict[str, Any]) -> tuple[int, Any]:
            status, answer = handle(method, parts, body)
            if method == "POST" and parts == ["v1", "registrations"]:
                self.processed.append((str(body.get("request_ref")), status, answer.get("status")))
                kill, self._kill = self._kill, None
                if kill is not None and status == 200:
                    kill()  # registered here; the caller never hears it
                    self.killed_on_answer.set()
                elif kill is not None:
                    self._kill = kill
            return status, answer

        app.handle = watched  # called by the server under its lock, one request at a time

    def kill_on_answer(self, kill: Callable[[], None]) -> None:
        self.killed_on_answer.clear()
        self._kill = kill

    def disarm(self) -> None:
        self._kill = None

    def registrations(self) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.base_url}/v1/registrations", timeout=10)
        r.raise_for_status()
        return list(r.json()["registrations"])

    def stats(self) -> dict[str, int]:
        return dict(self.sim.control.stats())


class OutboxWorker:
    """`madoguchi outside worker` as a process of its own, restarted as soon as it is found dead
    (as `Restart=always` would), until `stop`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep, daemon=True)

    def _spawn(self) -> None:
        argv = [str(Path(sys.executable).with_name("madoguchi")), "outside", "worker"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*argv, "--every", "0.5"], env=self.env, stdout=log, stderr=log
            )
        self.started += 1

    def _keep(self) -> None:
        while not self._stopping.wait(0.2):
            if self.process is not None and self.process.poll() is not None:
                self._spawn()

    def start(self) -> None:
        self._spawn()
        self._keeper.start()

    def kill(self) -> None:
        """SIGKILL the running worker (its keeper starts another)."""
        process = self.process
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    def kill_live(self) -> None:
        """SIGKILL a live worker: if the last one was just killed, its successor, once started."""
        deadline = time.monotonic() + 60
        while self.process is None or self.process.poll() is not None:
            assert time.monotonic() < deadline, "the outbox worker was not restarted"
            time.sleep(0.1)
        self.kill()

    def stop(self) -> None:
        self._stopping.set()
        if self._keeper.is_alive():
            self._keeper.join(10)
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _madoguchi(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    """A `madoguchi` command, started (`.communicate()` waits for it and returns its output)."""
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("madoguchi")), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit code and output (stdout then stderr) of a started command (at most 180 s)."""
    try:
        out, err = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out + err


def _wait_for(seconds: float, check: Callable[[], T], every: float = 1.0) -> T:
    """Poll `check` until it returns something true (at most `seconds`); its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def test_completions_survive_killed_workers_and_postgres_crashes(
    postgres, db, tmp_path, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the fault test runs on PostgreSQL")
    monkeypatch.setenv("WEB_CONCURRENCY", str(WORKERS))
    clock = [("start", time.monotonic())]  # where the test's time goes (printed)
    work = tmp_path
    (work / "pki").mkdir()
    name = "faults"
    s = connection.settings_dict
    postgres.createdb_from(bench._database_url(dict(s), s["NAME"]), name)  # the test database
    desks = _on(postgres.port, name, lambda: bench.seed(DESKS, work, insured=INSURED))
    url = postgres.url(name)
    port = bench._free_port()
    base = f"http://127.0.0.1:{port}"
    with running("insurer", seed=bench.insurer_seed(desks)) as sim:
        insurer = Insurer(sim)
        env = {
            **os.environ,
            **OUTSIDE_ENV,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-only-not-a-secret",
            "MADOGUCHI_DATA_DIR": str(work / "data"),
            "OUTSIDE_INSURER_URL": insurer.base_url,
            "SWEEP_INTERVAL_SECONDS": str(SWEEP_SECONDS),
            # The lapse rules as this process applies them in the checks below.
            "VISIT_PRESENCE_TIMEOUT_SECONDS": str(settings.VISIT_PRESENCE_TIMEOUT_SECONDS),
            "VISIT_INACTIVITY_SECONDS": str(settings.VISIT_INACTIVITY_SECONDS),
            "VISIT_ABSOLUTE_SECONDS": str(settings.VISIT_ABSOLUTE_SECONDS),
        }
        server_env = {k: v for k, v in env.items() if k.startswith(("OUTSIDE_", "VISIT_"))}
        server_env["SWEEP_INTERVAL_SECONDS"] = env["SWEEP_INTERVAL_SECONDS"]
        # One resident per desk is kept for the end: their visit is abandoned (see below).
        abandoned = [desk.insured.pop() for desk in desks]
        outbox = OutboxWorker(env, work / "outbox-worker.log")
        clock.append(("seed", time.monotonic()))
        server = bench.start_server(url, port, work, server_env)
        commands: list[subprocess.Popen[str]] = []
        try:
            outbox.start()
            clock.append(("serve", time.monotonic()))
            told, result, recovered, killed = _load_with_faults(
                desks, base, server, postgres, insurer, outbox
            )
            clock.append(("load and faults", time.monotonic()))
            print(  # shown with the test's output when it fails (and with -s)
                f"load: {len(told)} completions told, "
                f"{sum(1 for d in told if d.insured)} with a registration; "
                f"failed visits {dict(result.errors)}; "
                f"outbox workers started {outbox.started}"
            )
            assert server.poll() is None, "gunicorn's master died"
            assert killed >= 4
            _wait_healthy(base, 180)
            # Each desk's last resident is left with the visit open and procedures prepared,
            # as an abandoned terminal leaves it: no presence, no removal, nobody touches it.
            _abandon(desks, base, abandoned)
            stopped = time.monotonic()  # no agent reports any card from here on
            clock.append(("abandon", stopped))

            # The outbox drains: every call answered, none left pending.
            def pending() -> list[tuple[str, int, str]]:
                from madoguchi.benefits.models import OutsideCall

                calls = OutsideCall.objects.filter(state="pending")
                return list(calls.values_list("key", "attempts", "last_error"))

            drained = _wait_for(DRAIN_WAIT, lambda: not _on(postgres.port, name, pending))
            assert drained, f"the outbox did not drain in {DRAIN_WAIT:.0f} s: " + str(
                _on(postgres.port, name, pending)
            )
            clock.append(("drain", time.monotonic()))
            outbox.stop()
            reconciling = _madoguchi(env, "outside", "reconcile")  # meanwhile, visits lapse
            commands.append(reconciling)
            # No visit left open that should have ended: with no card reported any more, every
            # visit's presence lapses VISIT_PRESENCE_TIMEOUT_SECONDS after its last report at
            # the latest, and the sweeper ends it (at the lapse's time: checked below).
            all_ended = _wait_for(
                max(0.0, stopped + LAPSE_WAIT - time.monotonic()),
                lambda: not _on(postgres.port, name, _open_visits),
            )
            clock.append(("lapses", time.monotonic()))
            verifying = _madoguchi(env, "audit", "verify")
            commands.append(verifying)
            reconciled = _finished(reconciling)
            clock.append(("reconcile", time.monotonic()))
            verify = _finished(verifying)
            clock.append(("verify", time.monotonic()))
        finally:
            insurer.disarm()
            outbox.stop()
            for command in commands:
                if command.poll() is None:
                    command.kill()
                    command.communicate()
            _stop_server(server)
        registrations = insurer.registrations()
        stats = insurer.stats()
    print(", ".join(f"{k} {t - t0:.1f} s" for (_, t0), (k, t) in itertools.pairwise(clock)))

    assert told, f"no completion reached a desk: {dict(result.errors)}"
    assert recovered, f"no desk completed a visit after the last fault: {dict(result.errors)}"
    assert any(done.insured for done in told), f"no registration completed: {result.errors}"
    assert insurer.killed_on_answer.is_set(), "no worker was killed after the insurer answered"
    assert outbox.started >= 3
    assert all_ended, "visits left open: " + str(_on(postgres.port, name, _open_visits))
    assert reconciled[0] == 0, reconciled[1]
    assert ": 0 disagreements." in reconciled[1], reconciled[1]
    assert verify[0] == 0, verify[1]
    # Each key registered at the insurer once: its other attempts were replays of the stored
    # answer (one at least: the call whose worker was killed), never processed again.
    registered = Counter(ref for ref, status, what in insurer.processed if status == 200)
    assert registered, insurer.processed
    assert max(registered.values()) == 1, registered.most_common(3)
    assert {what for _ref, status, what in insurer.processed if status == 200} == {"registered"}
    assert stats["replayed"] >= 1, stats
    assert stats["conflicts"] == 0, stats
    _on(postgres.port, name, lambda: _assert_consistent(told, registrations))
    _on(postgres.port, name, lambda: _assert_abandoned_ended(abandoned))


def _abandon(desks: list[bench.Desk], base: str, residents: list[bench.Insured]) -> None:
    with httpx.Client(base_url=base, timeout=30) as agent:
        for desk, resident in zip(desks, residents, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    bench.abandoned_visit(desk, agent, base, resident)
                    break
                except (bench.VisitFailed, httpx.HTTPError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
    for desk in desks:
        if desk.http is not None:
            desk.http.close()


def _load_with_faults(
    desks: list[bench.Desk],
    base: str,
    server: subprocess.Popen[bytes],
    postgres: ThrowawayPostgres,
    insurer: Insurer,
    outbox: OutboxWorker,
) -> tuple[list[bench.Completed], bench.Result, bool, int]:
    """Desks do whole visits while FAULTS strike in turn; what the desks were told, the load's
    result, whether a desk completed a visit after the last fault, and the workers killed."""
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
        kwargs={"on_complete": heard, "halt": halt, "insured_every": 2},
        daemon=True,
    )
    insurer.kill_on_answer(outbox.kill)  # the worker (the only caller) at its first registration
    load.start()
    killed = 0
    try:
        # The faults start once a registration has completed. An insured visit (every second
        # one) is the longest, and each fault strikes after the next completion of any kind: on
        # a loaded machine every insured visit was cut by a fault, and during an outage a desk's
        # failed visits used up its insured residents (each comes once) in seconds, so no
        # registration ever completed and the run failed on what the machine's speed decided.
        def registration_told() -> bool:
            with lock:
                return any(done.insured for done in told)

        _wait_for(PROGRESS_WAIT, registration_told, every=0.2)
        mark = 0  # completions the desks were told of before the previous fault
        for fault in FAULTS:
            time.sleep(MIN_GAP)
            progress_after(mark)
            with lock:
                mark = len(told)
            if fault == "crash_postgres":
                postgres.crash_and_restart()
                continue
            # Both workers: one killed by the previous fault may not be replaced yet.
            workers = _wait_for(WORKERS_WAIT, lambda: _all_workers(server), every=0.2)
            assert workers, "gunicorn did not restart its workers"
            for pid in workers if fault == "kill_all_workers" else workers[:1]:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            if fault == "kill_all_workers":
                outbox.kill_live()
        with lock:
            after_last_fault = len(told)
        recovered = progress_after(after_last_fault)
    finally:
        halt.set()
    load.join(timeout=150)  # in-flight requests are bounded by the clients' timeouts
    assert not load.is_alive(), "the desks did not stop"
    return told, result, recovered, killed


def _open_visits() -> list[str]:
    """Visits still open: once no agent reports any card, each one's presence has lapsed within
    VISIT_PRESENCE_TIMEOUT_SECONDS, so by the time this is asked none should be open; each is
    described with when the lapse rules say it should have ended."""
    from django.utils import timezone

    from madoguchi.desk.models import Visit
    from madoguchi.desk.services.visits import lapse

    now = timezone.now()
    return [
        f"{v.reference} started {v.started_at:%H:%M:%S}, should have ended: {lapse(v, now)}"
        for v in Visit.objects.filter(ended_at__isnull=True)
    ]


def _assert_consistent(told: list[bench.Completed], registrations: list[dict[str, Any]]) -> None:
    from madoguchi.audit.models import AuditEvent
    from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
    from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
    from madoguchi.desk.models import Completion, Procedure, Visit
    from madoguchi.desk.services.visits import lapse

    events = AuditEvent.objects
    completed_events = events.filter(event_name="visits.completed")
    # What the desks were told is there, with all its rows.
    for done in told:
        p = Procedure.objects.select_related("visit__certificate", "completion").get(
            kind="test_link", fields__account=done.account
        )
        assert p.status == ProcedureStatus.COMMITTED, done
        assert p.completion is not None, done
        assert p.visit.reference == done.reference, done
        assert p.visit.certificate.fingerprint == done.fingerprint, done
        assert completed_events.filter(
            subject_type="desk.completion", subject_id=str(p.completion.pk)
        ).exists(), done
        regs = HealthInsuranceRegistration.objects.filter(completion=p.completion)
        if not done.insured:
            assert not regs.exists(), done
            continue
        reg = regs.select_related("outside_call").get()
        assert reg.insured_last4 == done.insured[-4:], done
        assert reg.state == "registered", (done, reg.state)
        assert reg.outside_call.state == "done", done
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
    # Every committed registration procedure has its registration and its call; the outbox has
    # drained: every call answered as registered (every insured person here is valid).
    committed = Procedure.objects.filter(
        kind="health_insurance_use", status=ProcedureStatus.COMMITTED
    )
    regs = HealthInsuranceRegistration.objects.select_related("outside_call", "visit__certificate")
    assert regs.count() == committed.count() == OutsideCall.objects.count()
    assert regs.count() >= sum(1 for done in told if done.insured)
    by_key = {r["request_ref"]: r for r in registrations if r["request_ref"]}
    for reg in regs:
        call = reg.outside_call
        assert reg.completion_id is not None, reg.pk
        assert reg.procedure.completion_id == reg.completion_id, reg.pk
        assert (call.state, reg.state) == ("done", "registered"), (call.key, reg.state)
        assert call.procedure_id == reg.procedure_id, call.key
        # The insurer registered exactly this call, for this card.
        held = by_key.get(call.key)
        assert held is not None, call.key
        assert held["card_cert_fingerprint"] == reg.visit.certificate.fingerprint, call.key
        assert held["registration_ref"] == reg.registration_ref, call.key
        for event in ("requested", "registered"):
            assert (
                events.filter(
                    event_name=f"benefits.health_insurance_{event}",
                    subject_id=str(reg.pk),
                ).count()
                == 1
            ), (call.key, event)
    # And nothing else: the insurer holds no registration of ours that the database does not.
    assert set(by_key) == set(OutsideCall.objects.values_list("key", flat=True))
    assert len(registrations) == regs.count()
    # No visit left open that should have ended; a lapse ended it when its limit passed.
    assert not Visit.objects.filter(ended_at__isnull=True).exists()
    lapses = {VisitEndReason.PRESENCE_LOST, VisitEndReason.INACTIVITY}
    lapses.add(VisitEndReason.ABSOLUTE_LIMIT)
    lapsed = Visit.objects.filter(end_reason__in=lapses)
    for v in lapsed:
        assert v.ended_at is not None
        assert lapse(v, v.ended_at) == (v.end_reason, v.ended_at), v.reference


def _assert_abandoned_ended(residents: list[bench.Insured]) -> None:
    """The abandoned visits were ended by the sweeper, when their presence lapsed: their
    prepared procedures discarded, the insured numbers they held purged, nothing registered."""
    from madoguchi.benefits.models import HealthInsuranceRegistration
    from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
    from madoguchi.desk.models import Procedure, Visit
    from madoguchi.desk.services.visits import lapse

    for resident in residents:
        visits = Visit.objects.filter(certificate__fingerprint=resident.fingerprint)
        v = visits.order_by("-started_at").first()
        assert v is not None, resident.number
        assert v.ended_at is not None, resident.number
        assert (v.end_reason, v.ended_at) == lapse(v, v.ended_at), resident.number
        assert v.end_reason == VisitEndReason.PRESENCE_LOST, (resident.number, v.end_reason)
        kinds = set(v.procedures.values_list("kind", "status"))
        assert kinds == {
            ("test_link", ProcedureStatus.DISCARDED),
            ("health_insurance_use", ProcedureStatus.DISCARDED),
        }, kinds
        assert not HealthInsuranceRegistration.objects.filter(visit__in=visits).exists()
    for fields in Procedure.objects.exclude(status=ProcedureStatus.PENDING).values_list(
        "fields", flat=True
    ):
        assert not any(str(k).startswith("_") for k in fields), sorted(fields)
