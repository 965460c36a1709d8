"""`madoguchi sweep [--every SECONDS]`: end lapsed idle visits and purge what they held."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections

from madoguchi.cli import (
    NOT_MIGRATED,
    Backoff,
    PlainErrors,
    counted,
    database_words,
    not_migrated,
    seconds,
)
from madoguchi.desk.sweep import SweepResult, sweep

log = logging.getLogger("madoguchi.sweep")


class Command(PlainErrors, BaseCommand):
    help = "Apply the lapse rules to idle visits and purge what ended visits held."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=seconds(zero=True),
            default=0,
            help="Repeat every N seconds (0, the default: once).",
        )
        parser.add_argument(
            "--parent-pid", type=int, default=0, help="Stop when this process is gone (serve)."
        )

    def handle(self, *args: Any, every: float, parent_pid: int, **_: Any) -> None:
        if not every:
            self._loop(every, parent_pid)
            return
        # SIGTERM (from `serve`'s master as it exits), or Ctrl-C at the operator's terminal
        # (which printed a KeyboardInterrupt traceback): end after the sweep in progress.
        _STOPPING.clear()
        previous = {
            sig: signal.signal(sig, lambda signum, frame: _STOPPING.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._loop(every, parent_pid)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self, every: float, parent_pid: int) -> None:
        backoff = Backoff(every, max(every, RETRY_AT_MOST))
        while True:
            wait = every
            try:
                if every:
                    close_old_connections()  # a long-running loop: no stale connection
                result = sweep()
            except DatabaseError as exc:
                if not every:
                    raise
                # A long-running loop outlives a database restart: one line a try (it was an
                # 80-line traceback every round), the waits doubling up to a minute (or
                # `every`, if longer) until a sweep succeeds.
                wait = backoff.failed()
                if not_migrated(exc):
                    log.error("sweep: %s; retrying in %g s", NOT_MIGRATED, wait)
                else:
                    said = database_words(exc)
                    log.error("sweep: database error: %s; retrying in %g s", said, wait)
                result = SweepResult(ended=0, purged=0)
            else:
                backoff.succeeded()
            if result.ended or result.purged or not every:
                self.stdout.write(
                    f"Swept: {counted(result.ended, 'lapsed visit')} ended, "
                    f"{counted(result.purged, 'procedure')} purged."
                )
            if not every or _STOPPING.is_set():
                return
            if not _wait(wait, parent_pid):
                return


# The longest wait between two tries while the database does not answer (unless `every` is
# longer).
RETRY_AT_MOST = 60.0
# How often a waiting sweeper looks for its parent: Ctrl-C on `madoguchi serve` (or the demo)
# leaves no sweeper behind for the rest of its interval (30 s by default).
PARENT_CHECK_SECONDS = 0.5
# Set by SIGTERM: the loop ends after the sweep in progress (or at once, while waiting).
_STOPPING = threading.Event()


def _wait(every: float, parent_pid: int) -> bool:
    """Sleep ``every`` seconds; False as soon as the parent process is gone or SIGTERM came."""
    deadline = time.monotonic() + every
    while (left := deadline - time.monotonic()) > 0:
        if _STOPPING.is_set() or (parent_pid and not _alive(parent_pid)):
            return False
        time.sleep(min(left, PARENT_CHECK_SECONDS))
    return not _STOPPING.is_set() and (not parent_pid or _alive(parent_pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
