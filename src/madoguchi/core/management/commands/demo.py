"""`madoguchi demo`: migrate, seed, start every process of the demo desk, print how to use it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from argparse import ArgumentTypeError
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.argtypes import port as port_number
from madoguchi.cli import PlainErrors
from madoguchi.core import demo

AGENT_PORTS = {"desk-01": 47110, "desk-02": 47111}
CRL_REFRESH_SECONDS = 6 * 3600
CRL_REFRESH_THREAD = "demo-crl-refresh"
READY_NOTE_SECONDS = 20.0
# How long stopping waits for the processes to end (gunicorn lets its workers finish, then
# stops its sweeper) before killing what is left.
STOP_SECONDS = 10.0


def _free_port_near(port: int) -> int | None:
    """A port to suggest when the demo's is taken: the first of port+10, port+20, … that can
    be bound now (None when none of nine can)."""
    for candidate in range(port + 10, min(port + 100, 65536), 10):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return candidate
    return None


class Command(PlainErrors, BaseCommand):
    help = "Run the demo desk: SQLite, seeded data, the server, card agents with virtual cards."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=port_number, default=None, help="default: MADOGUCHI_PORT, else 8000"
        )
        parser.add_argument(
            "--seed-only", action="store_true", help="Migrate and seed, then exit (no servers)."
        )

    def handle(self, *args: object, **opts: object) -> None:
        if not settings.DEMO:
            raise CommandError("Set MADOGUCHI_DEMO=1 (the Makefile's `make demo` does).")
        if opts["port"] is None:
            # MADOGUCHI_PORT=abc was int()'s traceback as the parser was built, before any word.
            try:
                opts["port"] = port_number(os.environ.get("MADOGUCHI_PORT") or "8000")
            except ArgumentTypeError as exc:
                raise CommandError(f"MADOGUCHI_PORT: {exc}") from None
        base = f"http://{opts['host']}:{opts['port']}"
        if base != settings.MADOGUCHI_ORIGIN:
            raise CommandError(
                f"MADOGUCHI_ORIGIN is {settings.MADOGUCHI_ORIGIN} but the demo serves {base}: "
                "card tokens are bound to the origin, so set MADOGUCHI_ORIGIN to match."
            )
        if not opts["seed_only"]:
            self._refuse_taken_ports(self._endpoints(base))
        self.stdout.write("demo: migrating and seeding …")
        call_command("migrate", interactive=False, verbosity=0)
        seeded = demo.seed()
        root, cards = demo.ensure_pki()
        demo.audit_checkpoint()
        (root / "terminals.json").write_text(json.dumps(seeded.credentials, indent=1))
        (root / "terminals.json").chmod(0o600)
        scenario = {
            "server": base,
            "agent": f"http://127.0.0.1:{AGENT_PORTS['desk-02']}",
            "terminal_credential": seeded.credentials["desk-02"],
            "username": "desk2",
            "password": demo.DEMO_PASSWORD,
            "card_dir": str(root / "cards"),
        }
        (root / "scenario.json").write_text(json.dumps(scenario, indent=1))
        (root / "scenario.json").chmod(0o600)
        # The server serves static files from the apps (WHITENOISE_USE_FINDERS); without the
        # collected root, each worker would print a Python warning as the demo starts.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if opts["seed_only"]:
            self.stdout.write("Demo data seeded.")
            return
        madoguchi = [sys.executable, "-m", "madoguchi"]
        # A line per request (the desk pages and the agents poll every second) would scroll the
        # banner away within a minute: the demo keeps them in a file the banner names.
        access_log = root / "access.log"
        processes: dict[str, tuple[list[str], dict[str, str]]] = {
            "server": (
                [
                    *madoguchi,
                    "serve",
                    "--bind",
                    f"{opts['host']}:{opts['port']}",
                    "--workers",
                    "2",
                    "--access-log",
                    str(access_log),
                ],
                # The server verifies the demo cards' basic four with the demo CA's key.
                {
                    "CARD_SUPPORT_KEYS": os.environ.get("CARD_SUPPORT_KEYS")
                    or demo.support_key_spec()
                },
            ),
        }
        # They keep their state beside the demo database, so a restart remembers both.
        for kind in ("provider", "bank", "insurer"):
            state = str(root / f"sim-{kind}.json")
            processes[f"simulated {kind}"] = (
                [*madoguchi, "sim", "serve", kind, "--state", state],
                {},
            )
        # The outbox worker calls the insurer after each signed health-insurance registration
        # (docs/outside.md).
        processes["outbox worker"] = ([*madoguchi, "outside", "worker"], {})
        # desk-01's agent also serves the resident page (its own origin, when set).
        resident = settings.RESIDENT_ORIGIN if base != settings.RESIDENT_ORIGIN else ""
        for terminal, port in AGENT_PORTS.items():
            processes[f"agent {terminal}"] = (
                [
                    *madoguchi,
                    "agent",
                    "--server",
                    base,
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--terminal-name",
                    terminal,
                    *(["--page-origin", resident] if terminal == "desk-01" and resident else []),
                    "--virtual",
                    *[str(c) for c in cards],
                ],
                {"MADOGUCHI_TERMINAL_CREDENTIAL": seeded.credentials[terminal]},
            )
        # Each in a process group of its own, so stopping the demo can end what a child started
        # (gunicorn's workers) even when the child itself is gone: a worker whose request
        # threads still waited outlived its master and kept the port (_supervise).
        children = {
            name: subprocess.Popen(argv, env={**os.environ, **env}, process_group=0)  # noqa: S603
            for name, (argv, env) in processes.items()
        }
        # The CRL refresh runs as long as the demo's processes do, and stops with them: it
        # outlived an in-process demo (tests) asleep for hours with a database connection.
        crl_stop = threading.Event()
        refresher = threading.Thread(
            target=self._refresh_crl, args=(crl_stop,), daemon=True, name=CRL_REFRESH_THREAD
        )
        refresher.start()
        try:
            endpoints = self._endpoints(base)
            if self._wait_ready(endpoints, children):
                self._banner(base, access_log)
            self._supervise(children)
        finally:
            crl_stop.set()
            refresher.join(timeout=STOP_SECONDS)

    @staticmethod
    def _endpoints(base: str) -> dict[str, str]:
        """What `_wait_ready` asks each process. The simulators' health address answers
        without a log line (their root was a `-> 404` line per simulator on the console)."""
        return {
            "server": f"{base}/",
            **{
                f"simulated {kind}": f"{url}/_health"
                for kind, url in (
                    ("provider", settings.BENEFITS_OUTSIDE["provider_url"]),
                    ("bank", settings.BENEFITS_OUTSIDE["bank_url"]),
                    ("insurer", settings.BENEFITS_OUTSIDE["insurer_url"]),
                )
            },
            **{f"agent {t}": f"http://127.0.0.1:{port}/status" for t, port in AGENT_PORTS.items()},
        }

    @staticmethod
    def _refuse_taken_ports(endpoints: dict[str, str]) -> None:
        """Refuse to start when a port the demo needs is taken (most often by a demo still
        running in another shell): its readiness probe would be answered by the other one, and
        the banner would say this demo runs while its own server had failed to bind."""
        taken = []
        for name, url in endpoints.items():
            parts = urlsplit(url)
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((parts.hostname or "127.0.0.1", parts.port or 80))
                except OSError:
                    taken.append(f"{parts.port} ({name})")
        if taken:
            ports = f"Port {taken[0]} is" if len(taken) == 1 else f"Ports {', '.join(taken)} are"
            message = (
                f"{ports} already in use: is another `make demo` still "
                "running? Stop it (Ctrl-C in its shell) and start this one again."
            )
            server = urlsplit(endpoints["server"]).port or 80
            if f"{server} (server)" in taken:
                # Port 8000 is a common default: another program may hold it for good.
                other = _free_port_near(server)
                message += (
                    f" If another program holds port {server} (`ss -ltnp` names it), start the "
                    f"demo on a free port instead: `make demo DEMO_PORT={other or 'PORT'}`."
                )
            raise CommandError(message)

    def _wait_ready(
        self, endpoints: dict[str, str], children: dict[str, subprocess.Popen[bytes]]
    ) -> bool:
        """Wait until every process answers HTTP (any status); False if one exits first (then
        _supervise reports it and stops the rest). The banner is printed only after this."""
        waiting = dict(endpoints)
        started = time.monotonic()
        next_note = started + READY_NOTE_SECONDS
        while waiting:
            for name, url in list(waiting.items()):
                proc = children.get(name)
                if proc is not None and proc.poll() is not None:
                    return False
                try:
                    httpx.get(url, timeout=2.0)
                except httpx.HTTPError:
                    continue
                del waiting[name]
            if waiting and time.monotonic() > next_note:
                self.stdout.write(
                    f"demo: waiting {time.monotonic() - started:.0f} s for "
                    f"{', '.join(sorted(waiting))} to answer …"
                )
                next_note += READY_NOTE_SECONDS
            if waiting:
                time.sleep(0.3)
        return True

    def _refresh_crl(self, stop: threading.Event) -> None:
        """Import a fresh demo CRL and sign a checkpoint every CRL_REFRESH_SECONDS until `stop`
        is set (the demo stopping), then close this thread's database connection."""
        try:
            while not stop.wait(CRL_REFRESH_SECONDS):
                try:
                    demo.refresh_crl()
                    demo.audit_checkpoint()
                except Exception as exc:
                    self.stderr.write(f"demo: CRL refresh failed: {exc}")
        finally:
            db.connections.close_all()

    def _banner(self, base: str, access_log: Path | None = None) -> None:
        w = self.stdout.write
        w("")
        w("madoguchi demo desk is running")
        w(f"  open:        {base}/terminal/enrol/  and choose terminal desk-01 (one click)")
        w(f"  sign in:     desk1 / {demo.DEMO_PASSWORD}   (desk staff)")
        w(
            f"               official / {demo.DEMO_PASSWORD} + the code `{demo.DEMO_CLI} demo_totp` prints"
        )
        w(f"               operator / {demo.DEMO_PASSWORD} + code: also the admin at {base}/admin/")
        w(
            f"               supervisor / {demo.DEMO_PASSWORD}   (the contractor's: daily reports at {base}/reports/)"
        )
        w(
            f"  card tray:   residents {', '.join(r[0] for r in demo.RESIDENTS)}; PIN {demo.DEMO_PIN}"
        )
        w("               (the 'locked' card's PIN is already blocked)")
        w("  outside:     simulated provider :8701, bank :8702, insurer :8703 (`sim accounts`)")
        w(
            "  outbox:      insurer calls after each health-insurance registration (`outside status|reconcile`)"
        )
        w(f"  commands:    in another shell, in this folder: {demo.DEMO_CLI} COMMAND")
        w("               (demo_totp, sim accounts, outside status, audit verify, --help)")
        me = settings.RESIDENT_ORIGIN or base
        w(f"  resident:    {me}/me/?kiosk=1  (the resident's own page, desk-01's card tray)")
        w("  incident:    in another shell: make scenario  (replays the seed's case on desk-02)")
        if access_log is not None:
            w(f"  requests:    one line each in {access_log}  (tail -f to watch)")
        w("  stop:        Ctrl-C")
        w("")

    def _supervise(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        stop = False

        def _stop(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"demo: {name} exited with {proc.returncode}; stopping.")
                        stop = True
                time.sleep(0.5)
        finally:
            # Ending them can take seconds (gunicorn lets its workers finish): say so at once.
            self.stdout.write("demo: stopping every process it started …")
            for proc in children.values():
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + STOP_SECONDS
            for proc in children.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            # Whatever is left in the children's groups (a child that did not end in time, a
            # worker its master left behind) is killed, so no port stays taken.
            for proc in children.values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stdout.write(
                "demo: stopped; every process it started has ended and its ports are free "
                "(`make demo` starts it again, with what you did kept in var/)."
            )
