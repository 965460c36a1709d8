"""`madoguchi bench audit`: appends inside real transactions vs a plain INSERT, and `audit
verify` vs raw SHA-256 over the same bytes. One throwaway PostgreSQL database, one run.

- appends: `clients` threads, each with its own connection, each transaction one
  ``audit.record()`` of a typical desk event (a visit reference, a kind, a digest);
- plain INSERT: the same threads, each transaction one INSERT of a row of the same columns
  into an unconstrained table (no chain, no lock);
- verify: ``verify_chain`` over the log just written vs SHA-256 of the same events' canonical
  bytes (as stored; verify checks they hash to the leaf hashes), the leaf hashes and the chain,
  computed in memory; alternated, `rounds` times each (more over the small log, whose runs are
  a few ms), the median of each compared. Also CPU (the mean per round: /proc counts 10 ms ticks)
  time: the verifier's process and its database server process (from /proc), against the raw
  hashing's, since wall time on a shared machine depends on what else runs. Measured twice:
  over the small log the appends wrote, then (`verify_events`) over the same log extended by
  ``audit.record()`` in transactions of `SEED_BATCH` events (the real append code: one head
  lock and one INSERT per transaction) to a realistic size, where per-run costs weigh less.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

from django.core.management import call_command
from django.db import connection, connections, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.canonical import GENESIS, chain_hash
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_chain
from madoguchi.desk.events import VISITS_PROCEDURE_PREPARED

from .completion import create_database, drop_database

TARGET_VERIFY_RATIO = 0.5
# Events per transaction when extending the log for the second verify figure (14 parameters
# an event, one INSERT: under PostgreSQL's 65,535 parameters a statement).
SEED_BATCH = 4_000
# Rounds over the small log (a run is a few ms; /proc's CPU figures count 10 ms ticks).
SMALL_LOG_ROUNDS = 21


@dataclass
class VerifyFigures:
    events: int
    verify_per_s: float = 0.0
    sha_per_s: float = 0.0
    verify_mb_per_s: float = 0.0
    sha_mb_per_s: float = 0.0
    verified_ok: bool = False
    rounds: int = 0
    verify_cpu_s: float = 0.0  # the verifier's process, mean per round
    verify_server_cpu_s: float | None = None  # its database server process (None: unreadable)
    sha_cpu_s: float = 0.0
    seed_s: float = 0.0  # wall time to extend the log to this size (0: the appends' log)

    @property
    def ratio(self) -> float:
        return self.verify_per_s / self.sha_per_s if self.sha_per_s else 0.0


@dataclass
class AuditResult:
    events: int
    clients: int
    asked: int = 0  # events asked for, when a whole number per thread made it fewer
    append_per_s: float = 0.0
    insert_per_s: float = 0.0
    verify: list[VerifyFigures] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)  # load average at the start


def _threads(clients: int, per_client: int, work: object) -> float:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for i in range(per_client):
                work(i)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process on this machine (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _measure_verify(rounds: int) -> VerifyFigures:
    """`verify_chain` vs raw SHA-256 (leaf + chain) over the log as it is now, alternated."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT canonical FROM audit_auditevent ORDER BY seq")
        blobs = [b"\x00" + bytes(stored) for (stored,) in cursor.fetchall()]

    def raw_sha256() -> None:
        previous = GENESIS
        for blob in blobs:
            previous = chain_hash(previous, hashlib.sha256(blob).digest())

    figures = VerifyFigures(events=len(blobs))
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    walls: dict[str, list[float]] = {"verify": [], "sha": []}
    cpus: dict[str, list[float]] = {"verify": [], "sha": [], "server": []}
    for _ in range(rounds):  # alternated, so that other work weighs on both alike
        server_before = _process_cpu(backend)
        cpu, started = time.process_time(), time.perf_counter()
        verified = verify_chain("default")
        walls["verify"].append(time.perf_counter() - started)
        cpus["verify"].append(time.process_time() - cpu)
        server_after = _process_cpu(backend)
        if server_before is not None and server_after is not None:
            cpus["server"].append(server_after - server_before)
        figures.verified_ok = verified.ok and verified.size == len(blobs)
        cpu, started = time.process_time(), time.perf_counter()
        raw_sha256()
        walls["sha"].append(time.perf_counter() - started)
        cpus["sha"].append(time.process_time() - cpu)
    t_verify, t_sha = _median(walls["verify"]), _median(walls["sha"])
    figures.rounds = rounds
    figures.verify_cpu_s = sum(cpus["verify"]) / rounds
    figures.sha_cpu_s = sum(cpus["sha"]) / rounds
    figures.verify_server_cpu_s = (
        sum(cpus["server"]) / rounds if len(cpus["server"]) == rounds else None
    )
    size = sum(len(b) for b in blobs)
    figures.verify_per_s = len(blobs) / t_verify
    figures.sha_per_s = len(blobs) / t_sha
    figures.verify_mb_per_s = size / t_verify / 1e6
    figures.sha_mb_per_s = size / t_sha / 1e6
    return figures


def _extend_log(total: int, append: object) -> float:
    """Append events with ``audit.record()`` until the log holds `total`, `SEED_BATCH` to a
    transaction; the wall time taken."""
    started = time.perf_counter()
    held = AuditEvent.objects.count()
    while held < total:
        batch = min(SEED_BATCH, total - held)
        with transaction.atomic():
            for i in range(held, held + batch):
                append(i)  # type: ignore[operator]
        held += batch
    return time.perf_counter() - started


def run(
    *, events: int = 5000, clients: int = 32, rounds: int = 5, verify_events: int = 200_000
) -> AuditResult:
    name, original = create_database("audit")
    result = AuditResult(events=events, clients=clients, load_before=os.getloadavg())
    try:
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_plain (id bigserial PRIMARY KEY, time timestamptz, "
                "event_id int, event_name varchar(100), actor_id varchar(64), "
                "actor_label varchar(200), terminal_id varchar(64), terminal_label varchar(200),"
                " subject_type varchar(100), subject_id varchar(64), payload jsonb, "
                "leaf_hash varchar(64), chain_hash varchar(64))"
            )
        per_client = max(1, events // clients)
        payload = {"visit": "04AD0917", "kind": "test_link", "digest": "ab" * 32}

        def record(i: int) -> None:
            audit.record(
                VISITS_PROCEDURE_PREPARED, subject=("desk.procedure", str(i + 1)), payload=payload
            )

        def append(i: int) -> None:
            with transaction.atomic():
                record(i)

        def insert(i: int) -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO bench_plain (time, event_id, event_name, actor_id, actor_label,"
                    " terminal_id, terminal_label, subject_type, subject_id, payload, leaf_hash,"
                    " chain_hash) VALUES (now(), 3004, 'visits.procedure_prepared', '', '', '',"
                    " '', 'desk.procedure', %s, %s::jsonb, %s, %s)",
                    [str(i + 1), '{"visit": "04AD0917", "kind": "test_link"}', "0" * 64, "0" * 64],
                )

        total = per_client * clients
        # The rates and the verify below are over the events appended: say that number.
        result.events, result.asked = total, events
        # Interleaved halves, so that other work on the machine weighs on both alike.
        t_insert = _threads(clients, per_client // 2, insert)
        t_append = _threads(clients, per_client // 2, append)
        t_insert += _threads(clients, per_client - per_client // 2, insert)
        t_append += _threads(clients, per_client - per_client // 2, append)
        result.insert_per_s = total / t_insert
        result.append_per_s = total / t_append

        result.verify.append(_measure_verify(max(rounds, SMALL_LOG_ROUNDS)))
        if verify_events > total:
            seeded = _extend_log(verify_events, record)
            result.verify.append(_measure_verify(rounds))
            result.verify[-1].seed_s = seeded
    finally:
        drop_database(name, original)
    return result


def report(r: AuditResult) -> list[str]:
    before = ", ".join(f"{x:.2f}" for x in r.load_before)
    lines = [
        f"audit log: {r.events:,} events"
        + (
            f" ({r.asked:,} asked, {r.events // r.clients:,} a thread)"
            if r.asked > r.events
            else ""
        )
        + f" from {r.clients} threads (one connection each), "
        f"PostgreSQL; load average before the run {before}",
        f"  appends (record() in its own transaction): {r.append_per_s:,.0f}/s",
        f"  plain INSERT of the same columns:          {r.insert_per_s:,.0f}/s",
        f"  appends / plain INSERT:                    {r.append_per_s / r.insert_per_s:.2f}",
    ]
    for v in r.verify:
        where = (
            f"the log extended to {v.events:,} events by record() in transactions of "
            f"{SEED_BATCH:,} ({v.seed_s:.0f} s)"
            if v.seed_s
            else f"the {v.events:,} events just appended"
        )
        lines += [
            f"  audit verify over {where}:",
            f"    verify: {v.verify_per_s:,.0f} events/s ({v.verify_mb_per_s:.2f} MB/s), "
            f"chain {'intact' if v.verified_ok else 'BROKEN'}",
            f"    raw SHA-256 (leaf + chain) over the same canonical bytes: {v.sha_per_s:,.0f} "
            f"events/s ({v.sha_mb_per_s:.1f} MB/s)",
            f"    verify / raw SHA-256 at {v.events:,} events: {v.ratio:.3f}; target >= "
            f"{TARGET_VERIFY_RATIO:g} - "
            + ("target met" if v.ratio >= TARGET_VERIFY_RATIO else "target NOT met"),
            f"    CPU time (mean of {v.rounds} rounds): verify {v.verify_cpu_s * 1000:.1f} ms in "
            "this process + "
            + (
                f"{v.verify_server_cpu_s * 1000:.1f} ms in its database server process"
                if v.verify_server_cpu_s is not None
                else "? ms in the database server (not readable here)"
            )
            + f"; raw SHA-256 {v.sha_cpu_s * 1000:.1f} ms",
        ]
    lines.append("  load average at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return lines
