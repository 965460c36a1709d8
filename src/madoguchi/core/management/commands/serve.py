"""`madoguchi serve`: the production server (gunicorn, threaded workers)."""

import os
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the production HTTP server (gunicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("MADOGUCHI_BIND", "127.0.0.1:8000"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)),
        )
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: object, **opts: object) -> None:
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "madoguchi.wsgi:application",
            "--bind",
            str(opts["bind"]),
            "--workers",
            str(opts["workers"]),
            "--worker-class",
            "gthread",
            "--threads",
            str(opts["threads"]),
            "--access-logfile",
            "-",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ]
        # The sweeper ends lapsed idle visits and purges what they held (docs/visits.md); it
        # stops by itself once this process (which becomes gunicorn's master) is gone.
        interval = str(settings.SWEEP_INTERVAL_SECONDS)
        madoguchi = [sys.executable, "-m", "madoguchi", "sweep", "--every", interval]
        subprocess.Popen([*madoguchi, "--parent-pid", str(os.getpid())])  # noqa: S603
        os.execv(sys.executable, argv)  # noqa: S606  (replaces this process; argv is ours)
