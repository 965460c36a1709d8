"""`madoguchi bench completion`: whole visits over HTTP against `madoguchi serve` on PostgreSQL.

A benchmark driver, not domain code: one file (over 400 lines) that reads top to bottom as the
run it performs.

One run, against one throwaway database on the configured PostgreSQL server:

1. set up: migrate, a test CA (trusted, with a fresh CRL), one virtual card, terminal (with an
   agent credential) and desk staff member per desk, the desk manual's checklist;
2. start `madoguchi serve` (the production gunicorn settings) with ``MADOGUCHI_BENCH=1``;
3. the floor: N clients POST to a bare Django view that inserts one row;
4. N desks, each enrolled and signed in, doing whole visits until the time is up: the agent
   reports the card, card authentication (the virtual card signs in this process; no PIN pad),
   a stand-in procedure, the checklist page and its ticks, the completion challenge, the signed
   completion, the card taken away; the agent's presence reports every 2 s meanwhile (the fault
   test also mixes in health-insurance use registrations, `Insured`, which go through the outbox
   to an insurer: `insurer_seed`, `visits_run(insured_every=...)`);
5. the floor again (the figure used is the mean of both floor runs);
6. ``pgbench`` (TPC-B-like) at the same client count, for reference.

Prints both rates and their ratio, p50/p95/p99 of the completion request, SQL statements,
transactions and audit-lock acquisitions per visit, server CPU per visit, and the verdicts.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import hashlib
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import DatabaseError, connection, connections

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.card.jpki import JpkiClient
from madoguchi.card.testca import TestCA
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard, issue_card
from madoguchi.checklists.services import template_install_default
from madoguchi.core import leftovers
from madoguchi.core.management.commands.serve import default_workers
from madoguchi.identity import services as identity
from madoguchi.identity.tokens import (
    authentication_signing_input,
    build_auth_token,
    build_completion_token,
    completion_signing_input,
)
from madoguchi.terminals import services as terminals

PIN = "1234"
APP = "https://madoguchi.test/bench/1.0"
PASSWORD = "bench-password-not-secret"
TARGET_RATIO = 1 / 8
TARGET_P99_MS = 150.0
TARGET_STATEMENTS = 60
TARGET_LOCKS_PER_TX = 1.0
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CHECKLIST = re.compile(r'data-testid="checklist-before_completion">(.*?)</fieldset>', re.DOTALL)
_CHECK_ITEM = re.compile(r'name="item" value="([^"]+)"')
# The visit a desk page's form was shown for: the server refuses a form without it.
_VISIT_INPUT = re.compile(r'name="visit" value="([^"]+)"')
_SHOWN_FOR = re.compile(r'name="(summary|round)" value="([^"]*)"')
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


# A kept-alive connection idle for longer than this is not reused: below `madoguchi serve`'s
# keep-alive (75 s), so the client never sends on a connection the server is closing.
KEEPALIVE_EXPIRY = 30.0


def http_client(base: str, timeout: float, **kwargs: Any) -> httpx.Client:
    """An HTTP client of the bench (desk page, agent): reuses connections for at most
    `KEEPALIVE_EXPIRY` seconds of idleness."""
    limits = httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
    return httpx.Client(base_url=base, timeout=timeout, limits=limits, **kwargs)


class BenchError(Exception):
    """The benchmark could not run (no PostgreSQL, server did not start, a desk failed)."""


@dataclass
class Insured:
    """A resident who comes once to register health-insurance use: a card of their own and the
    insurer's record of them (`insurer_seed`). Every one is insured with `INSURER` under
    `INSURED_SYMBOL`, number `number`, branch 00, and has the name `INSURED_NAME`."""

    card_path: Path
    number: str
    card: Any = None
    fingerprint: str = ""


INSURER = "06139992"
INSURED_SYMBOL = "BENCH"
INSURED_NAME = ("窓口 花子", "ﾏﾄﾞｸﾞﾁ ﾊﾅｺ", "マドグチ ハナコ")  # insurer's name and kana; as typed
INSURED_BIRTH = "1980-01-01"


@dataclass
class Desk:
    index: int
    terminal: str
    credential: str
    username: str
    card_path: Path
    card: Any = None
    fingerprint: str = ""
    http: httpx.Client | None = None
    card_in: bool = False
    insured: list[Insured] = field(default_factory=list)  # residents still to come, in order


@dataclass
class Result:
    desks: int
    duration: float
    visits: int = 0
    visit_elapsed: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    complete_ms: list[float] = field(default_factory=list)
    # Per completion request, its Server-Timing (queue, app, cpu, db; ms) beside its latency.
    complete_timing: list[dict[str, Any]] = field(default_factory=list)
    floor_rates: list[float] = field(default_factory=list)
    # The floor runs' CPU (seconds) by process, and their requests: the same client as the visits'
    floor_cpu: Counter[str] = field(default_factory=Counter)
    pgbench_tps: float | None = None
    pgbench_note: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    transactions: int = 0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0  # this process (the desks, agents and virtual cards)
    database_cpu_s: float = 0.0  # PostgreSQL's backends connected to the bench database
    machine_cpu_s: float = 0.0  # every core's busy time (anything else running included)
    presence_sent: int = 0
    client_processes: int = 1  # the desks' (and the floor clients') processes
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()
    # The desk page's poll, each way: polls answered, server CPU s, SQL statements, 304 answers.
    polls: dict[str, dict[str, float]] = field(default_factory=dict)
    # With --keep: what was kept and where (said in the report, or nobody finds it).
    kept: str = ""

    @property
    def visits_per_s(self) -> float:
        return self.visits / self.visit_elapsed if self.visit_elapsed else 0.0

    @property
    def floor_per_s(self) -> float:
        return statistics.fmean(self.floor_rates) if self.floor_rates else 0.0

    def percentile(self, q: float) -> float:
        if not self.complete_ms:
            return float("nan")
        data = sorted(self.complete_ms)
        return data[min(len(data) - 1, round(q * (len(data) - 1)))]


# --- setup -----------------------------------------------------------------------------------


def _listen(port: int, attempts: int = 50) -> socket.socket:
    """A listening socket on 127.0.0.1:``port``, retried for a few seconds while another
    process holds the port (a connection's ephemeral port is often let go at once)."""
    attempt = 0
    while True:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("127.0.0.1", port))
            listener.listen(2048)
            return listener
        except OSError as exc:
            listener.close()
            attempt += 1
            if exc.errno != errno.EADDRINUSE or attempt >= attempts:
                raise BenchError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url(settings_dict: dict[str, Any], name: str) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    auth = f"{user}:{password}" if password else user
    return f"postgres://{auth}@{host}:{port}/{name}"


# A bench's own database is named after it and its process id.
BENCH_DATABASE_PREFIX = "madoguchi_bench"
# The database a bench of this process created and has not dropped yet, with the name of the
# configured one, for the command's last cleanup (`drop_undropped`): a SIGTERM that came between
# CREATE DATABASE and the bench's own try (creating it, switching over, the lines before the try)
# left it on the server.
_undropped: tuple[str, str] | None = None


def create_database(bench: str = "completion") -> tuple[str, dict[str, Any]]:
    """A fresh database on the configured PostgreSQL server; Django is switched over to it.

    `bench` names the benchmark in the refusal when DATABASE_URL is not PostgreSQL."""
    if connection.vendor != "postgresql":
        raise BenchError(
            f"bench {bench} needs PostgreSQL (DATABASE_URL is {connection.vendor}): "
            "set DATABASE_URL=postgres://USER@HOST:PORT/DATABASE; the bench creates and drops "
            "a database of its own on that server."
        )
    # The databases of benches killed before they could drop theirs (their process gone):
    # dropped now, never a live bench's (madoguchi.core.leftovers, as the test runs do).
    dropped = leftovers.drop_postgres_leftovers(connection.settings_dict, BENCH_DATABASE_PREFIX)
    if dropped:
        sys.stderr.write(
            f"dropped {len(dropped)} leftover database(s) of killed benches: {', '.join(dropped)}\n"
        )
    global _undropped
    name = f"{BENCH_DATABASE_PREFIX}_{os.getpid()}"
    with warnings.catch_warnings():
        # Django warns when the maintenance database 'postgres' cannot be reached and tries the
        # configured one; if neither answers, the OperationalError says why in one line.
        warnings.simplefilter("ignore", RuntimeWarning)
        with connection._nodb_cursor() as cursor:  # the server's maintenance database
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            _undropped = (name, connection.settings_dict["NAME"])  # before: it may be made
            cursor.execute(f'CREATE DATABASE "{name}"')
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["NAME"] = name
    return name, original


def drop_database(name: str, original: dict[str, Any]) -> None:
    global _undropped
    connection.close()
    connection.settings_dict["NAME"] = original["NAME"]
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _undropped = None


def keep_database() -> None:
    """The bench's database is kept on purpose (`--keep`): the command's cleanup leaves it."""
    global _undropped
    _undropped = None


def drop_undropped() -> None:
    """Drop the database a bench of this process created and has not dropped (its own cleanup
    never ran: it was stopped before its try), and switch back to the configured one."""
    if _undropped is None:
        return
    name, configured = _undropped
    try:
        drop_database(name, {"NAME": configured})
    except DatabaseError as exc:  # the server gone too: say so, as the leftovers' drop will
        sys.stderr.write(f"bench: its database {name} could not be dropped: {exc}\n")


def seed(desks: int, work: Path, insured: int = 0) -> list[Desk]:
    """The database's setup for `desks` desks; each desk also gets `insured` residents who will
    register health-insurance use (their cards; the insurer's records: `insurer_seed`)."""
    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, at timestamptz NOT NULL)"
        )
    template_install_default()
    cache = work / "pki"
    ca = TestCA.load_or_create(cache / "ca")
    identity.trust_anchor_add(pem=ca.certificates_pem(), name="JPKI-TEST (bench)")
    identity.crl_import(data=ca.crl_pem(), source="bench CA")
    city = Organisation.objects.create(name="ベンチ市", kind=OrganisationKind.CITY)
    contractor = Organisation.objects.create(
        name="ベンチ窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=city
    )
    group = Group.objects.get_or_create(name=Role.DESK_STAFF.value)[0]
    result = []
    for i in range(desks):
        card_path = cache / f"resident-{i:03d}.card"
        if not card_path.exists():
            issue_card(
                ca,
                name=f"窓口　試験{i:03d}",
                address="大阪府ベンチ市堺区南瓦町３番１号",
                birth=date(1980, 1, 1),
                sex="1",
                pin=PIN,
                path=card_path,
            ).save()
        terminal = terminals.terminal_register(
            name=f"bench-{i:03d}", location="ベンチ", contractor=contractor, actor=None
        )
        credential = terminals.credential_issue(terminal=terminal, actor=None).raw
        user = User.objects.create_user(
            username=f"bench{i:03d}", password=PASSWORD, organisation=contractor
        )
        user.groups.add(group)
        desk = Desk(i, terminal.name, credential, user.username, card_path)
        for j in range(insured):
            path = cache / f"insured-{i:03d}-{j:03d}.card"
            if not path.exists():
                issue_card(
                    ca,
                    name=INSURED_NAME[0].replace(" ", "\u3000"),
                    address="大阪府ベンチ市堺区南瓦町３番１号",
                    birth=date.fromisoformat(INSURED_BIRTH),
                    sex="2",
                    pin=PIN,
                    path=path,
                ).save()
            desk.insured.append(Insured(path, f"9{i:02d}{j:02d}"))  # last 4 unique
        result.append(desk)
    return result


def insurer_seed(desks: list[Desk]) -> dict[str, Any]:
    """A simulator seed (`madoguchi.outside.sim`) whose insurer holds every desk's `Insured`."""
    return {
        "insurer": {
            "insurers": [{"insurer_number": INSURER, "name": "ベンチ健康保険組合"}],
            "records": [
                {
                    "insurer_number": INSURER,
                    "insured_symbol": INSURED_SYMBOL,
                    "insured_number": person.number,
                    "branch": "00",
                    "insured_name": INSURED_NAME[0],
                    "insured_name_kana": INSURED_NAME[1],
                    "birth_date": INSURED_BIRTH,
                    "sex": "2",
                    "status": "active",
                    "registered_card_fingerprint": None,
                }
                for desk in desks
                for person in desk.insured
            ],
        }
    }


# --- the server ------------------------------------------------------------------------------


def start_server(
    database_url: str,
    port: int,
    work: Path,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`madoguchi serve` on `port`; `env` adds to (or overrides) the bench's environment, `args`
    to `serve`'s arguments."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MADOGUCHI_BENCH": "1",
        "MADOGUCHI_ORIGIN": f"http://127.0.0.1:{port}",
        "DESK_TEST_PROCEDURE": "1",
        "SECURE_COOKIES": "0",
        "DEBUG": "0",
        "MADOGUCHI_DEMO": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-not-a-secret",
        "MADOGUCHI_DATA_DIR": str(work / "data"),
        "LOG_LEVEL": "WARNING",
        "AXES_FAILURE_LIMIT": "1000",
        **(env or {}),
    }
    script = Path(sys.executable).with_name("madoguchi")
    # The port is bound here, at once, and the listening socket handed to gunicorn
    # (`fd://`): a port found free (`_free_port`) and bound only when gunicorn has started,
    # seconds later, could be taken in between by another process on a loaded machine.
    listener = _listen(port)
    argv = [str(script), "serve", "--bind", f"fd://{listener.fileno()}", *args]
    with listener, (work / "server.log").open("wb") as log:  # the child keeps its own copies
        process = subprocess.Popen(  # noqa: S603  (our own console script)
            argv,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            pass_fds=(listener.fileno(),),
        )
    deadline = time.monotonic() + 300  # five workers importing Django on a loaded machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(
                f"madoguchi serve exited ({process.returncode}); see {work}/server.log"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        time.sleep(0.3)
    process.kill()
    raise BenchError("madoguchi serve did not answer within 300 s")


def _processes() -> Iterator[tuple[Path, int, int, float]]:
    """Every process now running: its /proc directory, pid, parent pid and user + system CPU
    seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid; fields[11] and [12] utime and stime.
        yield entry, int(entry.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def _process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of `pid` and its children (the gunicorn workers)."""
    return sum(cpu for _, p, parent, cpu in _processes() if pid in (p, parent))


def _postgres_backends_cpu(database: str) -> float:
    """User + system CPU seconds of the PostgreSQL backends now connected to `database` (found
    by their process title); a backend that exited is not counted (the server's connections are
    persistent)."""
    total = 0.0
    for entry, _, _, cpu in _processes():
        with contextlib.suppress(OSError):
            title = (entry / "cmdline").read_bytes()
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                total += cpu
    return total


def _own_cpu() -> float:
    """This process's CPU seconds and its client processes' once joined (waited-for children:
    the server and pgbench are waited for only after every figure is taken)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _machine_cpu() -> float:
    """Busy CPU seconds of every core since boot (/proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def server_counts(base: str, workers: int, *, reset: bool = False) -> dict[str, int]:
    """Sum of every worker's counters (polls /bench/stats on fresh connections until it has
    heard from `workers` distinct processes)."""
    seen: dict[int, dict[str, int]] = {}
    deadline = time.monotonic() + 30
    while len(seen) < workers and time.monotonic() < deadline:
        with http_client(base, 5) as client:
            data = client.get("/bench/stats", params={"reset": "1"} if reset else {}).json()
        seen[data["pid"]] = data["counts"]
    total: Counter[str] = Counter()
    for counts in seen.values():
        total.update(counts)
    total["audit_locks_max_per_transaction"] = max(
        (c.get("audit_locks_max_per_transaction", 0) for c in seen.values()), default=0
    )
    for pid, counts in seen.items():  # each worker's share (kept-alive connections stay put)
        total[f"worker.{pid}.requests"] = sum(
            n for k, n in counts.items() if k in ("requests.desk", "requests.agent")
        )
    return dict(total)


def database_transactions(database: str) -> int:
    time.sleep(1.2)  # cumulative statistics are flushed about once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            [database],
        )
        return int(cursor.fetchone()[0])


# --- clients ---------------------------------------------------------------------------------


def floor_run(
    base: str,
    clients: int,
    seconds: float,
    cpu: Counter[str] | None = None,
    server_pid: int = 0,
    processes: int = 1,
) -> float:
    """Requests per second of N clients POSTing to the floor view, their threads spread over
    `processes` client processes as the visits' desks are; with `cpu`, adds the run's requests
    and the CPU seconds of the clients, the server (`server_pid`'s tree), PostgreSQL's backends
    and the whole machine to it."""
    stop = time.monotonic() + seconds

    def clients_run(count: int) -> int:
        done = [0] * count

        def client(i: int) -> None:
            with http_client(base, 30) as http:
                while time.monotonic() < stop:
                    r = http.post("/bench/floor")
                    if r.status_code == 200:
                        done[i] += 1

        threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(done)

    before = _cpu_now(server_pid) if cpu is not None else {}
    started = time.monotonic()
    counts = [len(share) for share in _shares(list(range(clients)), processes)]
    if len(counts) > 1:
        done = sum(in_processes([functools.partial(clients_run, n) for n in counts]))
    else:
        done = clients_run(clients)
    rate = done / (time.monotonic() - started)
    if cpu is not None:
        cpu.update({k: v - before[k] for k, v in _cpu_now(server_pid).items()})
        cpu["requests"] += done
    return rate


def _shares(items: list[Any], processes: int) -> list[list[Any]]:
    """`items` dealt round-robin into at most `processes` non-empty shares."""
    shares = [items[i :: max(1, processes)] for i in range(max(1, processes))]
    return [share for share in shares if share]


def in_processes(parts: list[Callable[[], Any]]) -> list[Any]:
    """Runs each of `parts` in a forked child process of its own and returns what each returned,
    in order (pickled through a pipe). The bench's client in one process is 32 desk threads, 32
    agent threads and 32 presence threads under one GIL: a desk thread whose answer has arrived
    waits for the others' Python (the virtual cards' signing, httpx, JSON) before its clock
    stops, and that wait was counted as the server's latency (issue 15, fourteenth round).

    The parent's database connections are closed first: a child must not inherit (and, on
    exit, end) the parent's PostgreSQL sessions. A child leaves with `os._exit`, running no
    finaliser on what it inherited (the desks' sign-in connections stay the parent's). Its
    CPU is the parent's once joined (`_own_cpu` counts waited-for children)."""
    connections.close_all()
    context = multiprocessing.get_context("fork")
    running = []
    for part in parts:
        reader, writer = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(part, writer), daemon=True)
        child.start()
        writer.close()
        running.append((child, reader))
    out: list[Any] = []
    failed = ""
    for child, reader in running:
        try:
            status, value = reader.recv()
        except EOFError:
            status, value = "error", f"exited {child.exitcode} without an answer"
        child.join()
        if status == "ok":
            out.append(value)
        else:
            failed = failed or str(value)
    if failed:
        raise BenchError(f"a client process failed: {failed}")
    return out


def _child(part: Callable[[], Any], writer: Any) -> None:
    try:
        answer = ("ok", part())
    except BaseException as exc:  # told to the parent, which raises it
        answer = ("error", f"{type(exc).__name__}: {exc}")
    try:
        writer.send(answer)
    finally:
        writer.close()
        os._exit(0)


def _cpu_now(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of this process, the server's tree, the bench database's PostgreSQL
    backends and the whole machine."""
    return {
        "client": _own_cpu(),
        "server": _process_tree_cpu(server_pid) if server_pid else 0.0,
        "database": _postgres_backends_cpu(connection.settings_dict["NAME"]),
        "machine": _machine_cpu(),
    }


def server_timing(r: httpx.Response) -> dict[str, Any]:
    """A response's ``Server-Timing`` as {name: ms} (the bench server's: queue, app, cpu, db,
    commit, slowest), and a description as {name + "_desc": text}."""
    out: dict[str, Any] = {}
    for part in r.headers.get("Server-Timing", "").split(","):
        name, *params = part.strip().split(";")
        for param in params:
            key, _, value = param.partition("=")
            if key == "dur":
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
            elif key == "desc":
                out[name + "_desc"] = value.strip('"')
    return out


def _form_post(http: httpx.Client, base: str, path: str, data: dict[str, Any]) -> httpx.Response:
    page = http.get(path)
    match = _CSRF_INPUT.search(page.text)
    if match is None:
        raise BenchError(f"no CSRF token on {path} (HTTP {page.status_code})")
    return http.post(
        path,
        data={**data, "csrfmiddlewaretoken": match.group(1)},
        headers={"Referer": base + path, "Origin": base},
    )


def desk_sign_in(desk: Desk, base: str) -> None:
    desk.card, desk.fingerprint = _load_card(desk.card_path)
    http = http_client(base, 60, follow_redirects=False)
    r = _form_post(http, base, "/terminal/enrol/", {"credential": desk.credential})
    if r.status_code != 200:
        raise BenchError(f"enrolment of {desk.terminal} refused (HTTP {r.status_code})")
    r = _form_post(
        http,
        base,
        "/accounts/sign-in/",
        {"username": desk.username, "password": PASSWORD, "otp_token": ""},
    )
    if r.status_code != 302:
        raise BenchError(f"sign-in of {desk.username} refused (HTTP {r.status_code})")
    desk.http = http


def _sign(desk: Desk, message: bytes) -> tuple[bytes, bytes]:
    desk.card.power_on()
    result = JpkiClient(VirtualTransport(desk.card)).authenticate(PIN, message)
    desk.card.power_on()
    return result.certificate_der, result.signature


class VisitFailed(Exception):
    pass


@dataclass(frozen=True)
class Completed:
    """A whole visit whose completion the desk was told succeeded."""

    latency_ms: float  # the completion request
    reference: str  # the visit's reference, as the server answered
    account: str  # the stand-in procedure's account (unique per desk and visit)
    insured: str = ""  # the insured number of the health-insurance registration, if any
    fingerprint: str = ""  # the card that signed
    timing: dict[str, Any] = field(default_factory=dict)  # the server's, of the completion


def _api(
    desk: Desk,
    base: str,
    method: str,
    path: str,
    body: Any = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    assert desk.http is not None
    headers = {
        "X-CSRFToken": desk.http.cookies.get("csrftoken") or "",
        "Referer": base + "/",
        "Origin": base,
        **(extra or {}),
    }
    return desk.http.request(method, "/api/v1" + path, json=body, headers=headers)


def _expect(r: httpx.Response, step: str) -> dict[str, Any]:
    if r.status_code != 200:
        code = ""
        with contextlib.suppress(ValueError):
            code = r.json().get("code", "")
        raise VisitFailed(f"{step}: HTTP {r.status_code} {code}".strip())
    data: dict[str, Any] = r.json()
    return data


def agent_event(agent: httpx.Client, desk: Desk, kind: str, fingerprint: str | None) -> None:
    r = agent.post(
        "/api/v1/agent/events",
        json={
            "kind": kind,
            "cert_fingerprint": fingerprint,
            "reader": "bench",
            "at": datetime.now(UTC).isoformat(),
        },
        headers={"Authorization": f"Bearer {desk.credential}"},
    )
    if r.status_code != 204:
        raise VisitFailed(f"agent {kind}: HTTP {r.status_code}")


def _load_card(path: Path) -> tuple[Any, str]:
    """A virtual card and its authentication certificate's fingerprint."""
    card = VirtualCard.load(path)
    der = JpkiClient(VirtualTransport(card)).read_auth_certificate_der()
    return card, hashlib.sha256(der).hexdigest()


def _insurance_fields(person: Insured) -> dict[str, Any]:
    """The health-insurance use registration as the desk enters it for `person`."""
    return {
        "insurer_number": INSURER,
        "insured_symbol": INSURED_SYMBOL,
        "insured_number": person.number,
        "branch": "00",
        "resident_birth_date": INSURED_BIRTH,
        "resident_sex": "2",
        "resident_kana": INSURED_NAME[2],
        "resident_kana_confirmed": True,
    }


@contextlib.contextmanager
def _as(desk: Desk, insured: Insured | None) -> Iterator[None]:
    """The desk serves `insured` (their own card in the reader) for the duration."""
    if insured is None:
        yield
        return
    if insured.card is None:
        insured.card, insured.fingerprint = _load_card(insured.card_path)
    own = desk.card, desk.fingerprint
    desk.card, desk.fingerprint = insured.card, insured.fingerprint
    try:
        yield
    finally:
        desk.card, desk.fingerprint = own


def one_visit(
    desk: Desk,
    agent: httpx.Client,
    base: str,
    n: int,
    on_complete: Callable[[Completed], None] | None = None,
    insured: Insured | None = None,
) -> Completed:
    """A whole visit; returns what the desk was told of its completion. `on_complete` hears of
    it as soon as the desk does (before the card is taken away, which may still fail).

    With `insured`, that resident comes with their own card instead of the desk's, and
    registers health-insurance use beside the stand-in procedure (one completion, two
    procedures; the registration is committed as `registering` with its outbox call)."""
    with _as(desk, insured):
        return _visit(desk, agent, base, n, on_complete, insured)


def abandoned_visit(desk: Desk, agent: httpx.Client, base: str, insured: Insured) -> None:
    """A visit left as an abandoned terminal leaves it: `insured`'s card inserted, the visit
    started, both procedures prepared; then nothing, no presence report, no removal (only the
    lapse rules, applied by the sweeper, can end it)."""
    with _as(desk, insured):
        agent_event(agent, desk, "inserted", desk.fingerprint)
        _open(desk, base, f"B-{desk.index}-abandoned", insured)


def _open(desk: Desk, base: str, account: str, insured: Insured | None) -> None:
    """Authenticate the card in the reader, start the visit, prepare its procedures."""
    ch = _expect(_api(desk, base, "POST", "/visits/auth-challenge"), "auth-challenge")
    cert, sig = _sign(desk, authentication_signing_input(ch["origin"], ch["nonce"]))
    token = build_auth_token(cert, sig, APP)
    _expect(
        _api(desk, base, "POST", "/visits/start", {"token": token, "nonce": ch["nonce"]}),
        "start",
    )
    _expect(
        _api(
            desk,
            base,
            "POST",
            "/visits/current/procedures",
            {"kind": "test_link", "fields": {"account": account, "points": 100}},
        ),
        "prepare",
    )
    if insured is not None:
        _expect(
            _api(
                desk,
                base,
                "POST",
                "/visits/current/procedures",
                {"kind": "health_insurance_use", "fields": _insurance_fields(insured)},
            ),
            "prepare health insurance",
        )


def _visit(
    desk: Desk,
    agent: httpx.Client,
    base: str,
    n: int,
    on_complete: Callable[[Completed], None] | None = None,
    insured: Insured | None = None,
) -> Completed:
    assert desk.http is not None
    account = f"B-{desk.index}-{n}"
    agent_event(agent, desk, "inserted", desk.fingerprint)
    desk.card_in = True
    try:
        _open(desk, base, account, insured)
        page = desk.http.get("/desk/visit/confirm/")
        found = _CHECKLIST.search(page.text)
        csrf = _CSRF_INPUT.search(page.text)
        shown_for = _VISIT_INPUT.search(page.text)
        if page.status_code != 200 or found is None or csrf is None or shown_for is None:
            raise VisitFailed(f"confirmation page: HTTP {page.status_code}")
        ticked = desk.http.post(
            "/desk/visit/checklist/",
            data={
                "visit": shown_for.group(1),
                "stage": "before_completion",
                **dict(_SHOWN_FOR.findall(page.text)),  # the summary and round it showed
                "item": _CHECK_ITEM.findall(found.group(1)),
                "csrfmiddlewaretoken": csrf.group(1),
            },
            headers={"Referer": base + "/desk/visit/confirm/", "Origin": base},
        )
        if ticked.status_code not in (200, 302):
            raise VisitFailed(f"checklist: HTTP {ticked.status_code}")
        cc = _expect(_api(desk, base, "POST", "/visits/current/completion-challenge"), "challenge")
        tx = base64.b64decode(cc["transaction"])
        cert, sig = _sign(desk, completion_signing_input(cc["origin"], cc["nonce"], tx))
        token = build_completion_token(cert, sig, APP, hashlib.sha256(tx).digest())
        body_in = {"token": token, "nonce": cc["nonce"]}
        started = time.perf_counter()
        sent = {"X-Bench-Sent": repr(time.time())}
        r = _api(desk, base, "POST", "/visits/current/complete", body_in, sent)
        latency = (time.perf_counter() - started) * 1000
        body = _expect(r, "complete")
        done = Completed(
            latency,
            str(body["reference"]),
            account,
            insured.number if insured is not None else "",
            desk.fingerprint,
            server_timing(r),
        )
        if on_complete is not None:
            on_complete(done)
        return done
    finally:
        desk.card_in = False
        agent_event(agent, desk, "removed", desk.fingerprint)


def visits_run(
    desks: list[Desk],
    base: str,
    seconds: float,
    result: Result,
    on_complete: Callable[[Completed], None] | None = None,
    halt: threading.Event | None = None,
    insured_every: int = 0,
) -> None:
    """Each desk does whole visits until `seconds` have passed (or `halt` is set). With
    `insured_every` = k, every k-th visit of a desk is the next of its `insured` residents (each
    comes once, whatever the outcome), while any are left."""
    stop = time.monotonic() + seconds
    halt = halt or threading.Event()
    lock = threading.Lock()
    finished = threading.Event()

    def presence(desk: Desk) -> None:  # the desk's agent: a presence report every 2 s
        with http_client(base, 30) as agent:
            while not finished.wait(2.0):
                if desk.card_in:
                    with contextlib.suppress(VisitFailed, httpx.HTTPError):
                        agent_event(agent, desk, "presence", desk.fingerprint)
                        with lock:
                            result.presence_sent += 1

    def run(desk: Desk) -> None:
        n = 0
        with http_client(base, 60) as agent:
            while time.monotonic() < stop and not halt.is_set():
                n += 1
                person = None
                if insured_every and n % insured_every == 0 and desk.insured:
                    person = desk.insured.pop(0)
                try:
                    done = one_visit(desk, agent, base, n, on_complete, person)
                except (VisitFailed, httpx.HTTPError) as exc:
                    with lock:
                        result.errors[str(exc)[:80]] += 1
                    continue
                with lock:
                    result.visits += 1
                    result.complete_ms.append(done.latency_ms)
                    result.complete_timing.append({"total": done.latency_ms, **done.timing})

    pingers = [threading.Thread(target=presence, args=(d,), daemon=True) for d in desks]
    for t in pingers:
        t.start()
    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.visit_elapsed = time.monotonic() - started
    finished.set()
    for t in pingers:
        t.join()


def visits_in_processes(
    desks: list[Desk], base: str, seconds: float, result: Result, processes: int
) -> None:
    """`visits_run` with the desks dealt over `processes` client processes (each with its
    desks' threads, agents and presence reporters), so that a desk's clock is not stopped late
    by 95 other threads' Python under one GIL; the figures are merged into `result`."""
    shares = _shares(desks, processes)
    if len(shares) < 2:
        visits_run(desks, base, seconds, result)
        return

    def part(share: list[Desk]) -> dict[str, Any]:
        # Fresh connections with the desk's session cookies: the parent's (inherited sockets)
        # are left as they are for the parent's own use after this run.
        inherited = [desk.http for desk in share]
        for desk in share:
            assert desk.http is not None
            desk.http = http_client(base, 60, follow_redirects=False, cookies=desk.http.cookies)
        mine = Result(desks=len(share), duration=seconds)
        visits_run(share, base, seconds, mine)
        del inherited
        return {
            "visits": mine.visits,
            "errors": dict(mine.errors),
            "complete_ms": mine.complete_ms,
            "complete_timing": mine.complete_timing,
            "presence_sent": mine.presence_sent,
        }

    started = time.monotonic()
    answers = in_processes([functools.partial(part, share) for share in shares])
    result.visit_elapsed = time.monotonic() - started
    result.client_processes = len(shares)
    for answer in answers:
        result.visits += answer["visits"]
        result.errors.update(answer["errors"])
        result.complete_ms.extend(answer["complete_ms"])
        result.complete_timing.extend(answer["complete_timing"])
        result.presence_sent += answer["presence_sent"]


POLLS = {
    # The poll as it was: the whole visit summary (procedures, completions) every second.
    "summary": "/visits/current",
    # The poll the desk page uses: the visit's state, 304 while it is unchanged.
    "state": "/visits/current/state",
}


def polls_run(
    desks: list[Desk], base: str, server: subprocess.Popen[bytes], workers: int, polls: int
) -> dict[str, dict[str, float]]:
    """Every desk opens a visit, then polls it `polls` times each way, one way after the other
    (all desks at once, one poll a desk at a time, as open desk pages do, without the wait),
    while each desk's agent reports the card every 2 s; server CPU (presence reports included,
    alike for both ways) and desk statements are counted for each way separately."""
    out: dict[str, dict[str, float]] = {}
    with http_client(base, 60) as agent:
        for desk in desks:
            agent_event(agent, desk, "inserted", desk.fingerprint)
            ch = _expect(_api(desk, base, "POST", "/visits/auth-challenge"), "auth-challenge")
            cert, sig = _sign(desk, authentication_signing_input(ch["origin"], ch["nonce"]))
            token = build_auth_token(cert, sig, APP)
            _expect(
                _api(desk, base, "POST", "/visits/start", {"token": token, "nonce": ch["nonce"]}),
                "start",
            )
        finished = threading.Event()

        def presence(desk: Desk) -> None:  # the agent keeps reporting the card, as at a desk
            with http_client(base, 30) as reporter:
                while not finished.wait(2.0):
                    with contextlib.suppress(VisitFailed, httpx.HTTPError):
                        agent_event(reporter, desk, "presence", desk.fingerprint)

        reporters = [threading.Thread(target=presence, args=(d,), daemon=True) for d in desks]
        for t in reporters:
            t.start()
        for way, path in POLLS.items():
            answered = [0] * len(desks)
            not_modified = [0] * len(desks)
            lost = [0] * len(desks)

            def poll(
                i: int,
                desk: Desk,
                path: str = path,
                answered: list[int] = answered,
                not_modified: list[int] = not_modified,
                lost: list[int] = lost,
            ) -> None:
                etag = ""
                for _ in range(polls):
                    assert desk.http is not None
                    headers = {"If-None-Match": etag} if etag else {}
                    try:
                        r = desk.http.get("/api/v1" + path, headers=headers)
                    except httpx.TransportError:  # e.g. a kept-alive connection the server closed
                        lost[i] += 1
                        continue
                    if r.status_code in (200, 304):
                        answered[i] += 1
                        not_modified[i] += r.status_code == 304
                        etag = r.headers.get("ETag", "")

            before = server_counts(base, workers)
            cpu = _process_tree_cpu(server.pid)
            threads = [threading.Thread(target=poll, args=(i, d)) for i, d in enumerate(desks)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu = _process_tree_cpu(server.pid) - cpu
            after = server_counts(base, workers)
            out[way] = {
                "polls": sum(answered),
                "cpu_s": cpu,
                "statements": after.get("statements.desk", 0) - before.get("statements.desk", 0),
                "not_modified": sum(not_modified),
                "lost": sum(lost),
            }
        finished.set()
        for t in reporters:
            t.join()
        for desk in desks:
            agent_event(agent, desk, "removed", desk.fingerprint)
    return out


def pgbench(database_url: str, clients: int, seconds: int) -> tuple[float | None, str]:
    exe = shutil.which("pgbench")
    if exe is None:
        return None, "pgbench not installed"
    init = subprocess.run(  # noqa: S603
        [exe, "-i", "-q", "-s", "1", database_url], capture_output=True, text=True, check=False
    )
    if init.returncode != 0:
        return None, f"pgbench -i failed: {init.stderr.strip()[:200]}"
    run = subprocess.run(  # noqa: S603
        [exe, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    match = _TPS.search(run.stdout)
    if match is None:
        return None, f"pgbench failed: {run.stderr.strip()[:200]}"
    return float(match.group(1)), "TPC-B-like, scale 1"


def run(
    *,
    desks: int = 32,
    seconds: float = 30.0,
    floor_seconds: float = 10.0,
    keep: bool = False,
    polls: int = 20,
    client_processes: int = 4,
) -> Result:
    # A bad WEB_CONCURRENCY is refused before anything is created (the server would refuse it).
    workers = default_workers()
    result = Result(desks=desks, duration=seconds)
    result.load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    cache = Path(os.environ.get("MADOGUCHI_DATA_DIR", "var")) / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    (work / "pki").symlink_to(cache.resolve(), target_is_directory=True)
    name, original = create_database()
    server = None
    try:
        desk_list = seed(desks, work)
        url = _database_url(dict(connection.settings_dict), name)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, work)
        floor_run(base, desks, 2)  # warm up every worker
        result.floor_rates.append(
            floor_run(base, desks, floor_seconds, result.floor_cpu, server.pid, client_processes)
        )
        # Four at a time: password hashing for 32 sign-ins at once outlasts gunicorn's timeout.
        for start in range(0, len(desk_list), 4):
            sign_ins = [
                threading.Thread(target=desk_sign_in, args=(d, base))
                for d in desk_list[start : start + 4]
            ]
            for t in sign_ins:
                t.start()
            for t in sign_ins:
                t.join()
        if any(d.http is None for d in desk_list):
            raise BenchError("a desk could not sign in; see the server log")
        before = server_counts(base, workers, reset=True)
        tx_before = database_transactions(name)
        cpu_before = _process_tree_cpu(server.pid)
        own_before, db_before = _own_cpu(), _postgres_backends_cpu(name)
        machine_before = _machine_cpu()
        visits_in_processes(desk_list, base, seconds, result, client_processes)
        result.server_cpu_s = _process_tree_cpu(server.pid) - cpu_before
        result.client_cpu_s = _own_cpu() - own_before
        result.database_cpu_s = _postgres_backends_cpu(name) - db_before
        result.machine_cpu_s = _machine_cpu() - machine_before
        result.transactions = database_transactions(name) - tx_before
        after = server_counts(base, workers)
        result.counts = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        result.counts["audit_locks_max_per_transaction"] = after.get(
            "audit_locks_max_per_transaction", 0
        )
        result.floor_rates.append(
            floor_run(base, desks, floor_seconds, result.floor_cpu, server.pid, client_processes)
        )
        if polls:
            result.polls = polls_run(desk_list, base, server, workers, polls)
        for d in desk_list:
            if d.http is not None:
                d.http.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:  # a loaded machine: the figures are taken already
            server.kill()
            server.wait()
        server = None
        result.pgbench_tps, result.pgbench_note = pgbench(url, desks, int(floor_seconds))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        if not keep:
            drop_database(name, original)
            shutil.rmtree(work, ignore_errors=True)
        else:
            keep_database()
    if keep:
        result.kept = f"database {name} on the same server, files (the server's log) in {work}"
    result.load_after = os.getloadavg()
    return result


def _timing_lines(r: Result) -> list[str]:
    """The completion request's time by part (its Server-Timing): p50/p95/p99 of each, and each
    part's mean over the slowest 5% of completions (what the tail is made of)."""
    timed = [t for t in r.complete_timing if "app" in t]
    if not timed:
        return []
    for t in timed:
        # After the server's answer: the response's way back and the client's own wait for the
        # CPU and its GIL (before sending is in `queue`: the client's clock starts it).
        t["after"] = max(0.0, t["total"] - t.get("queue", 0.0) - t["app"])
        # In Django, neither the thread's CPU nor execute nor commit: waits for the CPU and GIL.
        t["wait"] = max(0.0, t["app"] - t["cpu"] - t["db"] - t.get("commit", 0.0))
    tail = sorted(timed, key=lambda t: t["total"])[int(len(timed) * 0.95) :]
    lines = ["  completion, by part (ms):   p50 /  p95 /  p99;  mean of the slowest 5%"]
    for name, what in (
        ("total", "as the desk saw it"),
        ("queue", "sent -> reaching Django (worker thread, CPU, GIL)"),
        ("pool", "  of it waiting for a free thread of the worker's pool"),
        ("app", "inside Django, wall"),
        ("cpu", "  of it the request thread's CPU"),
        ("db", "  of it in other statements (round trips, row locks, GIL after)"),
        ("commit", "  of it in commit (the audit append, its lock wait, COMMIT)"),
        ("wait", "  of it none of these (CPU and GIL waits)"),
        ("after", "answer -> the desk's thread (way back, client's CPU and GIL)"),
    ):
        data = sorted(t.get(name, 0.0) for t in timed)

        def q(x: float, data: list[float] = data) -> float:
            return data[min(len(data) - 1, round(x * (len(data) - 1)))]

        mean_tail = statistics.fmean(t.get(name, 0.0) for t in tail)
        lines.append(
            f"    {name:6s} {q(0.5):6.1f} / {q(0.95):6.1f} / {q(0.99):6.1f};  {mean_tail:6.1f}"
            f"   {what}"
        )
    slowest = Counter(str(t.get("slowest_desc", "")) for t in tail if t.get("slowest_desc"))
    if slowest:
        lines.append(
            "    the slowest statement of the slowest 5%: "
            + ", ".join(f"{desc} {n}x" for desc, n in slowest.most_common(4))
            + f"; its mean {statistics.fmean(t.get('slowest', 0.0) for t in tail):.1f} ms"
        )
    endpoints = sorted(
        (k.split(".")[1], r.counts.get(k, 0), r.counts.get(k[: -len("requests")] + "cpu_us", 0))
        for k in r.counts
        if k.startswith("endpoint.") and k.endswith(".requests")
    )
    if endpoints:
        lines.append("  server CPU per request by endpoint (request thread, inside Django):")
        lines.extend(
            f"    {path:45s} {n:6d} requests, {us / max(n, 1) / 1000:5.2f} ms"
            for path, n, us in endpoints
        )
    return lines


def _loop_lines(r: Result) -> list[str]:
    """The desks are a closed loop without think time: each waits on one request at a time and
    sends the next as soon as it has the answer, so the mean time of a step is the desks over
    the rate (Little's law), whatever the server does with each request; the completion's
    latency follows the machine's throughput, not its own work."""
    steps = r.counts.get("requests.desk", 0) + 2 * r.visits  # the page's and API's, + in/out
    if not steps or not r.visit_elapsed:
        return []
    rate = steps / r.visit_elapsed
    return [
        f"  closed loop:          {r.desks} desks, each one request at a time without a pause: "
        f"{rate:.0f} desk requests/s, so {r.desks / rate * 1000:.0f} ms a request on average "
        "(Little's law: desks / rate, the client's own work between requests included)"
    ]


def _worker_lines(r: Result) -> list[str]:
    """Each gunicorn worker's share of the visits' requests: a kept-alive connection stays with
    the worker that accepted it, so the desks' load is dealt once, at their first request."""
    shares = sorted(
        (n for k, n in r.counts.items() if k.startswith("worker.") and k.endswith(".requests")),
        reverse=True,
    )
    if not sum(shares):
        return []
    return [
        "  requests by worker:   "
        + ", ".join(f"{n / sum(shares):.0%}" for n in shares)
        + " of the desks' and agents' requests"
    ]


def _client_lines(r: Result) -> list[str]:
    """The bench client's CPU for the floor and for the visits (the same HTTP client)."""
    f = r.floor_cpu
    if not f.get("requests"):
        return []
    n = f["requests"]
    visits = max(r.visits, 1)
    requests = r.counts.get("requests.desk", 0) + r.counts.get("requests.agent", 0)
    return [
        f"  floor CPU/request:    bench client {f['client'] / n * 1000:.2f} ms, server "
        f"{f['server'] / n * 1000:.2f} ms, PostgreSQL backends {f['database'] / n * 1000:.2f} ms,"
        f" whole machine {f['machine'] / n * 1000:.2f} ms; the client's share of the machine: "
        f"floor {f['client'] / max(f['machine'], 1e-9):.0%}, visits "
        f"{r.client_cpu_s / max(r.machine_cpu_s, 1e-9):.0%}",
        f"  visit client:         {requests / visits:.1f} HTTP requests/visit (presence "
        f"included), {r.client_cpu_s / max(requests, 1) * 1000:.2f} ms client CPU per request "
        f"(its signing included)",
    ]


def report(r: Result) -> list[str]:
    visits = max(r.visits, 1)
    desk_statements = r.counts.get("statements.desk", 0)
    agent_statements = r.counts.get("statements.agent", 0)
    locks = r.counts.get("audit_locks.desk", 0) + r.counts.get("audit_locks.agent", 0)
    statements = desk_statements + agent_statements
    ratio = r.visits_per_s / r.floor_per_s if r.floor_per_s else 0.0
    p50, p95, p99 = (r.percentile(q) for q in (0.5, 0.95, 0.99))
    tx_per_visit = r.transactions / visits
    lock_tx = r.counts.get("audit_lock_transactions", 0)
    locks_per_tx = locks / lock_tx if lock_tx else 0.0
    max_per_tx = r.counts.get("audit_locks_max_per_transaction", 0)

    def verdict(ok: bool) -> str:
        # Without a completed visit there is nothing per visit to judge: "0 statements per
        # visit, target met" would pass a run where every visit failed.
        if not r.visits:
            return "no verdict: no visit completed"
        return "target met" if ok else "target NOT met"

    load = ", ".join(f"{x:.2f}" for x in r.load_before)
    load_after = ", ".join(f"{x:.2f}" for x in r.load_after)
    lines = [
        f"completion path: {r.desks} desks, whole visits over HTTP for {r.duration:.0f} s "
        "against `madoguchi serve` on PostgreSQL",
        f"  machine:              {os.cpu_count()} cores, Python {sys.version.split()[0]}; "
        f"load average {load} before, {load_after} after",
        f"  whole visits:         {r.visits} in {r.visit_elapsed:.1f} s = {r.visits_per_s:.2f} "
        f"visits/s; failed visits: {sum(r.errors.values())}"
        + (f" {dict(r.errors.most_common(3))}" if r.errors else ""),
        "  floor (bare view, one INSERT): "
        + ", ".join(f"{x:.1f}" for x in r.floor_rates)
        + f" req/s (before, after); mean {r.floor_per_s:.1f}",
        f"  visits/s / floor:     1/{(1 / ratio) if ratio else float('inf'):.1f} "
        f"({ratio:.4f}); target >= 1/8 - {verdict(ratio >= TARGET_RATIO)}",
        f"  completion request:   p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; "
        f"target p99 <= {TARGET_P99_MS:.0f} ms - {verdict(p99 <= TARGET_P99_MS)}",
        f"  the desks' client:    {r.client_processes} process"
        + ("es" if r.client_processes != 1 else "")
        + f" ({r.desks} desks, each with its agent and presence threads; the floor's clients"
        " dealt alike); the latencies above are the desk's clock, which counts its own process's"
        " waits for the CPU and the GIL (`after` below)",
        f"  SQL statements/visit: {statements / visits:.1f} (desk page and API "
        f"{desk_statements / visits:.1f}, agent events {agent_statements / visits:.1f}); "
        f"target <= {TARGET_STATEMENTS} - {verdict(statements / visits <= TARGET_STATEMENTS)}",
        f"  transactions/visit:   {tx_per_visit:.1f} (pg_stat_database, every commit and rollback)",
        f"  audit locks/visit:    {locks / visits:.1f} in {lock_tx / visits:.1f} transactions; "
        f"per locking transaction mean {locks_per_tx:.2f}, max {max_per_tx}; "
        f"target <= {TARGET_LOCKS_PER_TX:g} per writing transaction - "
        f"{verdict(max_per_tx <= TARGET_LOCKS_PER_TX)}",
        f"  server CPU/visit:     {r.server_cpu_s / visits * 1000:.0f} ms "
        f"(gunicorn master + workers, user + system)",
        *_worker_lines(r),
        *_loop_lines(r),
        f"  other CPU/visit:      bench client {r.client_cpu_s / visits * 1000:.0f} ms "
        f"(desks, agents, virtual cards), PostgreSQL backends "
        f"{r.database_cpu_s / visits * 1000:.0f} ms; whole machine "
        f"{r.machine_cpu_s / visits * 1000:.0f} ms busy "
        f"({r.machine_cpu_s / max(r.visit_elapsed, 1e-9):.2f} of {os.cpu_count()} cores; "
        f"the rest is anything else running)",
        *_timing_lines(r),
        *_client_lines(r),
        f"  agent presence:       {r.presence_sent} reports during the run",
        "  pgbench:              "
        + (
            f"{r.pgbench_tps:.1f} tps ({r.pgbench_note}, {r.desks} clients)"
            if r.pgbench_tps is not None
            else r.pgbench_note
        ),
    ]
    if r.kept:
        lines.append(f"  kept (--keep):        {r.kept}")
    if r.polls:
        per = {
            way: (
                p["cpu_s"] / p["polls"] * 1000,
                p["statements"] / p["polls"],
                p["not_modified"] / p["polls"],
                p["polls"],
            )
            for way, p in r.polls.items()
            if p["polls"]
        }
        for way in r.polls.keys() - per.keys():
            # Nothing to divide: a CPU per poll over no poll would charge all the CPU to none.
            lost = r.polls[way].get("lost")
            lines.append(
                f"  desk page poll ({way}): no poll answered"
                + (f" ({lost:.0f} lost: connection reset)" if lost else "")
                + "; no figure per poll"
            )
        for way, (cpu_ms, statements_per, nm, n) in per.items():
            lines.append(
                f"  desk page poll ({way}): {n:.0f} polls, server CPU {cpu_ms:.2f} ms/poll, "
                f"{statements_per:.1f} SQL statements/poll, {nm:.0%} answered 304"
                + (
                    f", {r.polls[way]['lost']:.0f} lost (connection reset)"
                    if r.polls[way].get("lost")
                    else ""
                )
            )
        if "summary" in per and "state" in per and per["state"][0]:
            lines.append(
                f"  poll CPU, summary / state: {per['summary'][0] / per['state'][0]:.1f}x "
                f"(same run); {r.desks} open pages polling once a second take "
                f"{r.desks * per['state'][0] / 1000:.0%} of a core (state) vs "
                f"{r.desks * per['summary'][0] / 1000:.0%} (summary)"
            )
    return lines
