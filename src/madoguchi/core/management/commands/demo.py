"""`madoguchi demo`: migrate, seed, start every process of the demo desk, print how to use it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.core import demo


class Command(BaseCommand):
    help = (
        "Run the demo desk: SQLite, seeded data, the server (and later the simulators and agent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("MADOGUCHI_PORT", 8000)))
        parser.add_argument(
            "--seed-only", action="store_true", help="Migrate and seed, then exit (no servers)."
        )

    def handle(self, *args: object, **opts: object) -> None:
        if not settings.DEMO:
            raise CommandError("Set MADOGUCHI_DEMO=1 (the Makefile's `make demo` does).")
        call_command("migrate", interactive=False, verbosity=0)
        seeded = demo.seed()
        if opts["seed_only"]:
            self.stdout.write("Demo data seeded.")
            return
        base = f"http://{opts['host']}:{opts['port']}"
        processes = {
            "server": [
                sys.executable,
                "-m",
                "madoguchi",
                "serve",
                "--bind",
                f"{opts['host']}:{opts['port']}",
                "--workers",
                "2",
            ],
        }
        children = {name: subprocess.Popen(argv) for name, argv in processes.items()}  # noqa: S603
        self._banner(base, seeded)
        self._supervise(children)

    def _banner(self, base: str, seeded: demo.DemoSeed) -> None:
        w = self.stdout.write
        w("")
        w("madoguchi demo desk")
        w(f"  address:   {base}/")
        w(f"  sign in:   desk1 / {demo.DEMO_PASSWORD}   (desk staff, on terminal desk-01)")
        w(f"             official / {demo.DEMO_PASSWORD} + authenticator code")
        w("             (print a current code: madoguchi demo_totp)")
        for name, raw in seeded.credentials.items():
            w(f"  terminal {name}: open {base}/terminal/enrol/ and enter {raw}")
        w("  stop:      Ctrl-C")
        w("")

    def _supervise(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        stop = False

        def _stop(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                for name, proc in children.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"demo: {name} exited with {proc.returncode}; stopping.")
                        stop = True
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in children.values():
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
