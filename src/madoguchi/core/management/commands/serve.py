"""`madoguchi serve`: the production server (gunicorn, threaded workers)."""

import errno
import os
import socket
import subprocess
import sys
from argparse import ArgumentTypeError
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.argtypes import bind_address
from madoguchi.cli import PlainErrors, migrations_pending
from madoguchi.core import gconf
from madoguchi.core.gworker import DEFAULT_LIMITS

# The most worker processes and threads a worker `serve` starts: `--workers
# 99999999999999999999` went to gunicorn, which forked workers until the machine stood still.
MOST_WORKERS = 64
MOST_THREADS = 1024


def default_workers() -> int:
    """gunicorn worker processes unless WEB_CONCURRENCY says otherwise: one per core and one
    more. Each worker is a process of 8 threads (gthread), so this is ~8 requests in flight per
    core; gunicorn's 2 x cores + 1 is for one-request-at-a-time (sync) workers. On 2 cores, 3
    workers instead of 5 cost ~10-25% less server CPU per visit in `madoguchi bench completion`
    (fewer processes and PostgreSQL connections sharing the cores; docs/performance.md, issue
    15's tenth round)."""
    text = _workers_text()
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        # The bench and serve alike: one line naming the variable, not a traceback.
        raise CommandError(
            f"WEB_CONCURRENCY must be a whole number of at least 1, not {text!r} "
            "(gunicorn's worker processes; unset it for one per core and one more)."
        )
    if workers > MOST_WORKERS:
        raise CommandError(
            f"WEB_CONCURRENCY must be a whole number of at most {MOST_WORKERS}, not {text!r} "
            "(gunicorn's worker processes; unset it for one per core and one more)."
        )
    return workers


def _workers_text() -> str:
    """WEB_CONCURRENCY as set (an empty one is unset), else one per core and one more."""
    return os.environ.get("WEB_CONCURRENCY") or str((os.cpu_count() or 1) + 1)


# gunicorn's request limits, set explicitly (docs/security.md "Request limits").
REQUEST_LIMITS = DEFAULT_LIMITS


def _whole(least: int, env: str, most: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `least` (and at most `most`, when given).
    Defaults come from the environment as text, so a bad `env` value is refused as one line
    naming it, like a bad option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < least:
            raise ArgumentTypeError(
                f"must be a whole number of at least {least}, not {text!r} "
                f"(when not given, {env} sets it)"
            )
        if most is not None and value > most:
            raise ArgumentTypeError(
                f"must be a whole number of at most {most}, not {text!r} "
                f"(when not given, {env} sets it)"
            )
        return value

    return parse


def bind_text() -> str:
    """MADOGUCHI_BIND as set (an empty one is unset), else 127.0.0.1:8000."""
    return os.environ.get("MADOGUCHI_BIND") or "127.0.0.1:8000"


def _bind(text: str) -> str:
    """`bind_address`, its refusal naming the variable that sets it when not given."""
    try:
        return bind_address(text)
    except ArgumentTypeError as exc:
        raise ArgumentTypeError(f"{exc} (when not given, MADOGUCHI_BIND sets it)") from None


def refuse_taken_address(bind: str) -> None:
    """A CommandError (exit 2) when `bind` (HOST:PORT) cannot be listened on, said once.

    gunicorn tried five times a second apart, printing `[ERROR] Connection in use` twice each
    time, then exited 1. The address is tried and let go at once: gunicorn binds it again (with
    SO_REUSEADDR, as here), so another program taking it in between is still gunicorn's error.
    unix:PATH and fd://N are gunicorn's to open."""
    if bind.startswith(("unix:", "fd://")):
        return
    host, _, port = bind.rpartition(":")
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host.strip("[]"), int(port)))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            said = "is in use (another server, or a `madoguchi serve` already running)"
        else:
            said = f"cannot be listened on ({exc.strerror or exc})"
        raise CommandError(
            f"The address {bind} {said}: give another with --bind HOST:PORT or MADOGUCHI_BIND "
            "(such as 127.0.0.1:8010). The server was not started.",
            returncode=2,
        ) from None


class Command(PlainErrors, BaseCommand):
    help = "Run the production HTTP server (gunicorn)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            type=_bind,
            default=bind_text(),
            help="Address to listen on, HOST:PORT ([::1]:8000 for IPv6), unix:PATH or fd://N "
            "(MADOGUCHI_BIND; default 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--workers",
            type=_whole(1, "WEB_CONCURRENCY", MOST_WORKERS),
            default=_workers_text(),
            help="Worker processes (WEB_CONCURRENCY; default: cores + 1).",
        )
        parser.add_argument(
            "--threads",
            type=_whole(1, "MADOGUCHI_THREADS", MOST_THREADS),
            default=os.environ.get("MADOGUCHI_THREADS", "8"),
            help="Threads per worker, each one request at a time (MADOGUCHI_THREADS; default 8).",
        )
        # How long an idle kept-alive connection stays open (seconds). gunicorn's default (2 s)
        # is shorter than clients' idle reuse (httpx 5 s, browsers and reverse proxies 60 s or
        # more): a client then sends its next request on a connection the server is closing
        # and gets "server disconnected" or a reset. The server must be the side that waits
        # longest, so its limit is above a reverse proxy's upstream idle timeout (60 s in
        # nginx and common load balancers) and the clients' (docs/performance.md).
        parser.add_argument(
            "--keep-alive",
            type=_whole(0, "MADOGUCHI_KEEPALIVE_SECONDS"),
            default=os.environ.get("MADOGUCHI_KEEPALIVE_SECONDS", "75"),
            help="Seconds an idle connection stays open (MADOGUCHI_KEEPALIVE_SECONDS; default 75).",
        )
        # What gunicorn refuses before Django sees a request (414 / 431 with the reason, in
        # Japanese and English: madoguchi.core.gworker). The request line holds the address:
        # madoguchi's longest (a report's day, a sign-in's `next`) are under 300 bytes.
        for name, default in REQUEST_LIMITS.items():
            env = "MADOGUCHI_LIMIT_REQUEST_" + name.upper()
            parser.add_argument(
                "--limit-request-" + name.replace("_", "-"),
                type=_whole(0, env),
                default=os.environ.get(env, str(default)),
                help=f"gunicorn's limit ({env}; default {default}; 0: none).",
            )
        parser.add_argument(
            "--access-log",
            default="-",
            help="Where each request's line goes: a file, or - for standard output (default).",
        )

    def handle(self, *args: object, **opts: object) -> None:
        # On a database not migrated every page was a server error and the sweeper logged a
        # database error every minute; started, the server looked up and running.
        from_shell = getattr(self, "_called_from_command_line", False)
        if from_shell and not opts.get("skip_checks") and migrations_pending() is True:
            raise CommandError(
                "The database is not migrated: run `madoguchi migrate` first (it creates "
                "madoguchi's tables, or adds what this release needs). The server was not started."
            )
        if from_shell:
            # Before the sweeper starts: refused here, nothing is left running.
            refuse_taken_address(str(opts["bind"]))
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
            "madoguchi.core.gworker.Worker",  # gthread, its own refusals said in both languages
            # Ctrl-C stops as SIGTERM does: requests in flight are answered first.
            "--config",
            "python:madoguchi.core.gconf",
            "--threads",
            str(opts["threads"]),
            "--keep-alive",
            str(opts["keep_alive"]),
            *(
                arg
                for name in REQUEST_LIMITS  # gunicorn spells the last `--limit-request-field_size`
                for arg in ("--limit-request-" + name, str(opts["limit_request_" + name]))
            ),
            "--access-logfile",
            str(opts["access_log"]),
            # The same access log lines as gunicorn's, built with less CPU (issue 15).
            "--logger-class",
            "madoguchi.core.accesslog.AccessLogger",
            "--forwarded-allow-ips",
            os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            # gunicorn 27 opens an admin socket in $HOME/.gunicorn by default, one path shared
            # by every server of the user (a second server takes it over); madoguchi uses none.
            "--no-control-socket",
        ]
        # The sweeper ends lapsed idle visits and purges what they held (docs/visits.md); it
        # stops by itself once this process (which becomes gunicorn's master) is gone. In a
        # process group of its own, Ctrl-C in the terminal reaches gunicorn, not the sweeper
        # (which printed a KeyboardInterrupt traceback, often from its start-up checks).
        if not settings.SWEEP_INTERVAL_SECONDS > 0:
            # 0 swept once and left no sweeper; a negative one was refused in the sweeper's own
            # process while the server went on: lapsed visits would stay open either way.
            raise CommandError(
                "SWEEP_INTERVAL_SECONDS must be more than 0 (it was "
                f"{settings.SWEEP_INTERVAL_SECONDS}): the sweeper beside the server ends lapsed "
                "visits every that many seconds."
            )
        interval = str(settings.SWEEP_INTERVAL_SECONDS)
        madoguchi = [sys.executable, "-m", "madoguchi", "sweep", "--every", interval]
        sweeper = subprocess.Popen([*madoguchi, "--parent-pid", str(os.getpid())], process_group=0)  # noqa: S603
        # gunicorn's master (this process) stops its sweeper and waits for it as it exits
        # (`gconf.on_exit`): whoever waits for the server (`make demo`, a service manager) then
        # knows the sweeper has ended too, not half a second later.
        argv += ["--env", f"{gconf.SWEEPER_PID}={sweeper.pid}"]
        os.execv(sys.executable, argv)  # noqa: S606  (replaces this process; argv is ours)
