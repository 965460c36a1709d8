"""`make demo` prints its banner only once every process answers HTTP."""

import contextlib
import io
import os
import re
import signal
import socket
import subprocess
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from madoguchi.core.management.commands.demo import Command

README = Path(__file__).resolve().parents[1] / "README.md"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_waits_until_the_late_server_answers():
    port = _free_port()
    servers = []

    def late() -> None:
        time.sleep(1.0)
        server = ThreadingHTTPServer(("127.0.0.1", port), _Quiet)
        servers.append(server)
        server.serve_forever()

    threading.Thread(target=late, daemon=True).start()
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = time.monotonic()
        ready = Command(stdout=io.StringIO())._wait_ready(
            {"server": f"http://127.0.0.1:{port}/"}, {"server": child}
        )
        assert ready
        assert time.monotonic() - started >= 1.0
    finally:
        child.kill()
        child.wait()
        for s in servers:
            s.shutdown()


def test_a_process_that_exits_means_no_banner():
    child = subprocess.Popen(["true"])
    child.wait()
    port = _free_port()
    assert not Command(stdout=io.StringIO())._wait_ready(
        {"server": f"http://127.0.0.1:{port}/"}, {"server": child}
    )


def test_the_banner_names_commands_a_second_shell_can_run_as_printed():
    """`madoguchi` alone is not on the PATH and, outside demo mode, asks for SECRET_KEY: the
    banner names the whole command (the one the README's step 5 gives)."""
    out = io.StringIO()
    Command(stdout=out)._banner("http://127.0.0.1:8000")
    text = out.getvalue()
    assert "`MADOGUCHI_DEMO=1 .venv/bin/madoguchi demo_totp`" in text
    assert "`madoguchi " not in text
    assert "MADOGUCHI_DEMO=1 .venv/bin/madoguchi demo_totp" in README.read_text()


def test_the_banner_and_the_readme_name_a_sign_in_for_every_seeded_role():
    """The demo seeds a contractor's supervisor, the only role that submits a desk's daily
    report (docs/reports.md), but neither the banner nor the README named that sign-in, so a
    reader could not try the submission."""
    from madoguchi.core import demo

    out = io.StringIO()
    Command(stdout=out)._banner("http://127.0.0.1:8000")
    banner = out.getvalue()
    section = README.read_text().split("## Trying the demo", 1)[1].split("\n## ", 1)[0]
    for role in {role for _, _, role, _ in demo.STAFF}:
        names = [name for name, _, r, _ in demo.STAFF if r == role]
        assert any(f"{name} / {demo.DEMO_PASSWORD}" in banner for name in names), role
        assert any(f"`{name}`" in section for name in names), role


def test_demo_totp_outside_demo_mode_says_how_to_run_it(settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match=r"MADOGUCHI_DEMO=1 \.venv/bin/madoguchi demo_totp"):
        call_command("demo_totp")


class _Sweeper:
    """What `subprocess.Popen` gives `serve` for its sweeper, in tests that start none."""

    pid = 2**31 - 1  # no such process


class _Exited:
    """A child process that has already exited: the demo stops at once after starting it."""

    returncode = 0
    pid = 2**31 - 1  # no such process group: stopping kills nothing real

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.mark.django_db
def test_the_demo_keeps_request_lines_in_a_file_the_banner_names(settings, tmp_path, monkeypatch):
    """The desk pages and the agents poll every second: a line each on the demo's console
    scrolled the banner (what to open, how to sign in) away within a minute. And the demo
    starts its server with the static root made: without var/static each gunicorn worker
    printed `UserWarning: No directory at: …` (checked here, on the run that starts the
    workers, rather than by a second migrated and seeded demo of its own)."""
    from madoguchi.core.management.commands import demo as demo_command

    settings.DEMO = True
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    started: dict[str, list[str]] = {}

    def popen(argv, env=None, **kw):
        started[argv[3]] = argv
        return _Exited()

    monkeypatch.setattr(demo_command.subprocess, "Popen", popen)
    monkeypatch.setattr(Command, "_wait_ready", lambda self, endpoints, children: True)
    monkeypatch.setattr(Command, "_refuse_taken_ports", staticmethod(lambda endpoints: None))
    out = io.StringIO()
    call_command("demo", stdout=out, stderr=io.StringIO())
    server = started["serve"]
    log = Path(server[server.index("--access-log") + 1])
    assert log.parent == tmp_path / "demo"
    assert f"one line each in {log}" in out.getvalue()
    assert settings.STATIC_ROOT.is_dir()


@pytest.mark.django_db
def test_the_demo_s_crl_refresh_stops_with_the_demo(settings, tmp_path, monkeypatch):
    """The demo's CRL refresh thread slept six hours at a time and kept running after the demo
    stopped (in a test that starts the demo in-process, until the test process ended): it now
    stops with the demo's processes, joined before `demo` returns."""
    from types import SimpleNamespace

    from madoguchi.core.management.commands import demo as demo_command

    settings.DEMO = True
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    made: list[threading.Thread] = []

    class _Recorded(threading.Thread):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(
        demo_command, "threading", SimpleNamespace(Thread=_Recorded, Event=threading.Event)
    )
    monkeypatch.setattr(demo_command.subprocess, "Popen", lambda argv, env=None, **kw: _Exited())
    monkeypatch.setattr(Command, "_wait_ready", lambda self, endpoints, children: True)
    monkeypatch.setattr(Command, "_refuse_taken_ports", staticmethod(lambda endpoints: None))
    call_command("demo", stdout=io.StringIO(), stderr=io.StringIO())
    assert [t.name for t in made if "crl" in t.name]
    assert not [t.name for t in made if t.is_alive()]
    assert not [t.name for t in threading.enumerate() if "crl" in t.name]


def test_serve_writes_request_lines_where_it_is_told(monkeypatch):
    from madoguchi.core.management.commands import serve

    seen = {}
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: _Sweeper())  # the sweeper
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    call_command("serve", "--access-log", "/somewhere/access.log")
    argv = seen["argv"]
    assert argv[argv.index("--access-logfile") + 1] == "/somewhere/access.log"


def test_waiting_for_the_simulators_writes_no_404_lines_on_the_console(settings, caplog):
    """The readiness probe asked each simulator for `/`: one `provider GET / -> 404` line per
    simulator among the first lines a newcomer reads."""
    import logging

    from madoguchi.outside.sim import running_all

    with running_all() as sims:
        settings.BENEFITS_OUTSIDE = {
            **settings.BENEFITS_OUTSIDE,
            "provider_url": sims.provider.base_url,
            "bank_url": sims.bank.base_url,
            "insurer_url": sims.insurer.base_url,
        }
        probes = {k: v for k, v in Command._endpoints("http://x").items() if "simulated" in k}
        assert len(probes) == 3
        with caplog.at_level(logging.INFO, logger="madoguchi.outside.sim"):
            assert Command(stdout=io.StringIO())._wait_ready(probes, {})
    assert not [r for r in caplog.records if "404" in r.getMessage()], caplog.text


@pytest.mark.django_db
def test_a_second_demo_on_taken_ports_says_so_and_starts_nothing(settings, tmp_path, monkeypatch):
    """A demo still running in another shell answered the second one's readiness probe, so the
    second printed "is running" while its own server had failed to bind."""
    from madoguchi.core.management.commands import demo as demo_command

    settings.DEMO = True
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    started: list[list[str]] = []
    monkeypatch.setattr(
        demo_command.subprocess, "Popen", lambda argv, env=None, **kw: started.append(argv)
    )
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        settings.MADOGUCHI_ORIGIN = f"http://127.0.0.1:{port}"
        with pytest.raises(CommandError, match=rf"Ports? {port} \(server\).* already in use"):
            call_command("demo", "--port", str(port), stdout=io.StringIO())
    assert started == []


def test_stopping_the_demo_ends_what_its_children_left_behind(tmp_path):
    """A gunicorn worker whose request threads still waited outlived its master once the demo
    stopped, and kept port 8000: stopping now kills each child's whole process group."""
    pid_file = tmp_path / "grandchild"
    # A child that leaves a grandchild deaf to SIGTERM, as a stuck worker is, and one that
    # exits at once (the demo then stops, as when any of its processes ends).
    lingering = subprocess.Popen(
        ["sh", "-c", f"(trap '' TERM; exec sleep 600) & echo $! > {pid_file}; wait"],
        process_group=0,
    )
    for _ in range(1200):  # until the shell wrote it (bounded: a hang fails, not a slow start)
        if pid_file.exists() and pid_file.read_text().strip():
            break
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    exiting = subprocess.Popen(["true"], process_group=0)
    Command(stdout=io.StringIO(), stderr=io.StringIO())._supervise(
        {"server": lingering, "agent": exiting}
    )

    def gone() -> bool:
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        return state == "Z"

    try:
        for _ in range(600):  # a poll: returns as soon as it has gone (it sleeps far longer)
            if gone():
                break
            time.sleep(0.1)
        assert gone(), "the grandchild outlived the demo"
    finally:  # never left behind, even when the demo failed to end it
        if not gone():
            with contextlib.suppress(ProcessLookupError):
                os.kill(grandchild, signal.SIGKILL)


def test_stopping_the_demo_says_when_everything_has_ended():
    """After Ctrl-C the console went quiet for up to ten seconds and ended on gunicorn's last
    line: nothing said the demo had stopped, or that it was safe to start it again."""
    out, err = io.StringIO(), io.StringIO()
    exiting = subprocess.Popen(["true"], process_group=0)
    Command(stdout=out, stderr=err)._supervise({"agent": exiting})
    assert "demo: stopping" in out.getvalue()
    assert "demo: stopped" in out.getvalue()
    assert "make demo" in out.getvalue()  # how to start it again


def test_the_readme_lists_what_each_demo_card_prints():
    """Nothing in the demo told a stranger a virtual card's printed birth date, which the
    health-insurance form asks (resident B: 1975-09-30, male): the README lists every demo
    card's face as the demo issues it."""
    from madoguchi.core.demo import RESIDENTS
    from madoguchi.era import format_era

    text = README.read_text()
    sexes = {"1": "male", "2": "female"}
    for file_name, name, birth, sex, _address in RESIDENTS:
        # In the era as the card prints it (and the insurance form takes it), then the calendar.
        era = format_era(date.fromisoformat(birth), weekday=False)
        assert f"| `{file_name}` | {name} | {era} ({birth}) | {sexes[sex]} |" in text


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _running(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_the_demo_says_it_stopped_only_after_the_servers_sweeper_has_ended(tmp_path, monkeypatch):
    """`madoguchi serve` starts a sweeper beside gunicorn; when the demo stopped, gunicorn's
    master exited at once and the sweeper noticed only at its next look (every half second),
    so "demo: stopped; every process it started has ended" was printed while it still ran.
    The master now stops its sweeper and waits for it as it exits. A real server (an empty
    database: the sweeper's sweeps fail and it goes on, as after a database restart; started
    with --skip-checks, which `serve` otherwise refuses on a database not migrated)."""
    import os
    import sys

    from madoguchi.core.management.commands import demo as demo_command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3",
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "SWEEP_INTERVAL_SECONDS": "3600",
    }
    argv = [
        sys.executable,
        "-m",
        "madoguchi",
        "serve",
        "--skip-checks",
        "--bind",
        f"127.0.0.1:{port}",
    ]
    with (tmp_path / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*argv, "--workers", "1"], env=env, process_group=0, stdout=log, stderr=log
        )
    sweeper = 0
    for _ in range(1200):  # until the sweeper runs (bounded: a hang fails, not a slow start)
        sweeper = next((p for p in _children(server.pid) if " sweep " in _cmdline(p)), 0)
        if sweeper or server.poll() is not None:
            break
        time.sleep(0.1)
    assert sweeper, (tmp_path / "server.log").read_text()
    for _ in range(1200):  # until gunicorn listens (its signal handlers are set by then)
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        time.sleep(0.1)
    seen: dict[str, bool] = {}

    class Console(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("demo: stopped"):
                seen["sweeper running when stopped was said"] = _running(sweeper)
            return super().write(text)

    # A loaded machine: what stopping waits for before killing, generous (it catches hangs).
    monkeypatch.setattr(demo_command, "STOP_SECONDS", 300.0)
    out = Console()
    exiting = subprocess.Popen(["true"], process_group=0)
    Command(stdout=out, stderr=io.StringIO())._supervise({"server": server, "agent": exiting})
    assert "demo: stopped" in out.getvalue()
    assert seen == {"sweeper running when stopped was said": False}


@pytest.mark.django_db
def test_a_server_port_held_by_another_program_says_how_to_use_another(
    settings, tmp_path, monkeypatch
):
    """When some other program held port 8000, the demo only asked whether another `make demo`
    was running: a newcomer with, say, a development server on 8000 had no way to start it.
    It now names a free port to start it on, and `make demo DEMO_PORT=N` moves the server and
    the origins the pages and the resident's page are served from together."""
    from madoguchi.core.management.commands import demo as demo_command

    settings.DEMO = True
    settings.DATA_DIR = tmp_path
    settings.STATIC_ROOT = tmp_path / "static"
    monkeypatch.setattr(demo_command.subprocess, "Popen", lambda *a, **k: pytest.fail("started"))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        settings.MADOGUCHI_ORIGIN = f"http://127.0.0.1:{port}"
        with pytest.raises(CommandError) as refused:
            call_command("demo", "--port", str(port), stdout=io.StringIO())
    message = str(refused.value)
    suggested = int(re.search(r"`make demo DEMO_PORT=(\d+)`", message).group(1))
    assert suggested != port
    with socket.socket() as s:  # the suggestion was free when it was made
        s.bind(("127.0.0.1", suggested))


def test_make_demo_moves_every_origin_with_demo_port():
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        ["make", "-n", "-C", str(root), "demo", "DEMO_PORT=8010"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    line = next(line for line in out.splitlines() if "madoguchi demo" in line)
    for setting in (
        "MADOGUCHI_PORT=8010",
        "MADOGUCHI_ORIGIN=http://127.0.0.1:8010",
        "RESIDENT_ORIGIN=http://localhost:8010",
    ):
        assert setting in line, out


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    """`make -C <the project> ARGS`, its output kept (bounded: a check that let it through
    would start the demo or the suite)."""
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        ["make", "-C", str(root), *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("port", ["abc", "0", "65536", "99999999999999999999", ""])
def test_make_demo_refuses_a_port_it_cannot_serve_on_before_anything_runs(port):
    """`make demo DEMO_PORT=abc` was refused as "The environment variable MADOGUCHI_ORIGIN is
    not valid", a variable the newcomer never set; `DEMO_PORT=0` started the simulators before
    the card agents refused the origin. The Makefile says what DEMO_PORT takes, before the
    bootstrap installs anything or a process starts."""
    done = _make("demo", f"DEMO_PORT={port}")
    assert done.returncode == 2, done
    assert (
        "make demo: DEMO_PORT is the port the demo serves on, a number from 1 to 65535 "
        f"(make demo DEMO_PORT=8010, say), not '{port}'. Nothing was installed or started."
    ) in done.stderr
    assert "bootstrap" not in done.stdout + done.stderr
    assert "MADOGUCHI_ORIGIN" not in done.stderr


@pytest.mark.parametrize("workers", ["abc", "65", "99999999999999999999", ""])
def test_make_test_refuses_a_number_of_workers_before_anything_runs(workers):
    """`TEST_WORKERS=abc make test` ran the lint and type checks, then stopped on pytest's
    usage error; a number past 64 bits was xdist's OverflowError traceback."""
    for target in ("test", "test-postgres", "test-sqlite"):
        done = _make(target, f"TEST_WORKERS={workers}")
        assert done.returncode == 2, done
        assert (
            "make: TEST_WORKERS is how many pytest-xdist workers run the tests, a whole number "
            f"from 0 (one process, in order) to 64, not '{workers}'. No test was run."
        ) in done.stderr
        assert "pytest" not in done.stdout
        assert "bootstrap" not in done.stdout + done.stderr
