"""`madoguchi outside worker [--once] [--every S] [--parent-pid PID] | status | reconcile`."""

from __future__ import annotations

import os
import signal
import threading
import time
from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from madoguchi.benefits import outside
from madoguchi.benefits.models import OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import EXIT_AGREED, NEW, Interrupted, reconcile
from madoguchi.cli import PlainErrors, counted, database_words, seconds
from madoguchi.outside import (
    OutsideAccessDenied,
    OutsideError,
    OutsideProtocolError,
    OutsideTimeout,
    OutsideUnavailable,
)

# `outside reconcile --help`: its exit statuses (Report.exit_code, docs/outside.md).
RECONCILE_EXIT_WORDS = (
    "Compare the insurer's records with ours; repair and report disagreement. Exit status: 0 "
    "in agreement (or every disagreement repaired, or waiting for the worker); 1 the insurer's "
    "records could not be read, nothing compared or changed, or the database failed during "
    "the run, what was done before printed; 3 disagreement it could not "
    "repair, with an incident recorded by this run; 4 disagreement still open, its incidents "
    "recorded by an earlier run (or a re-send the insurer failed again)."
)

# A pending call's last error (the outside error's code), as `outside status` explains it.
ERROR_WORDS = {
    "outside_unavailable": "the insurer could not be reached or answered with a server error",
    "outside_timeout": "the insurer did not answer in time",
    "outside_protocol_error": "the insurer's answer was not understood",
    "outside_access_denied": (
        "the insurer refused our credentials or permission (HTTP 401/403): check the API key or "
        "client certificate the insurer's adapter sends, and OUTSIDE_INSURER_URL"
    ),
    "outside_value_unusable": "the insurer's answer held a name or reference that cannot be kept",
    "idempotency_in_progress": (
        "the insurer was still processing an earlier send of this call under its key (HTTP 409, "
        "another worker's): the retry receives that send's answer"
    ),
}
# The outbox's call kinds and states, as `outside status` names them (the code beside, in
# brackets, for grepping the logs and the table).
KIND_WORDS = {
    "insurer.register_use": "health-insurance registration",
    "insurer.cancel_registration": "health-insurance suspension (a case's)",
}
STATE_WORDS = {
    "pending": "waiting for the insurer",
    "done": "answered",
    "refused": "refused by the insurer",
}
# What `outside worker --once` did with each call it took.
OUTCOME_WORDS = {
    "registered": "registered by the insurer",
    "cancelled": "suspended by the insurer",
    "refused": "refused by the insurer",
    "retry": "not answered; to be retried",
}
# A call due this long ago and still not taken: no worker is draining the outbox (a worker polls
# every second when idle, and its claim moves the call's due time past its lease).
OVERDUE_SECONDS = 300


class Command(PlainErrors, BaseCommand):
    help = "The outbox of outside calls: its worker, its state, reconciliation with the insurer."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        worker = sub.add_parser(
            "worker", help="Perform the outbox's calls (with their idempotency keys), retrying."
        )
        worker.add_argument(
            "--once", action="store_true", help="Process every call due now once, then exit."
        )
        worker.add_argument(
            "--every",
            type=seconds(zero=False),
            default=1.0,
            help="Seconds between polls when idle (more than 0; default 1).",
        )
        worker.add_argument(
            "--parent-pid", type=int, default=0, help="Stop when this process is gone (serve)."
        )
        sub.add_parser("status", help="Count the outbox's calls by state.")
        sub.add_parser(
            "reconcile",
            help="Compare the insurer's records with ours; repair and report disagreement.",
            description=RECONCILE_EXIT_WORDS,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "worker":
            self._worker(options["once"], options["every"], options["parent_pid"])
        elif action == "status":
            rows = list(
                OutsideCall.objects.values("kind", "state")
                .annotate(n=Count("pk"))
                .order_by("kind", "state")
            )
            # Words first, the code beside in brackets; columns as wide as their longest value
            # (a fixed width pushed a longer kind's state out of line with the others).
            kinds = [_named(KIND_WORDS, r["kind"]) for r in rows]
            states = [_named(STATE_WORDS, r["state"]) for r in rows]
            kind_w = max(map(len, kinds), default=0)
            state_w = max(map(len, states), default=0)
            for row, kind, state in zip(rows, kinds, states, strict=True):
                self.stdout.write(
                    f"{kind:{kind_w}}  {state:{state_w}}  {counted(row['n'], 'call')}"
                )
            self._retrying()
            self._overdue()
            refused = sum(r["n"] for r in rows if r["state"] == "refused")
            if refused:
                self.stdout.write(
                    f"{counted(refused, 'refused call')}: the insurer refused "
                    f"{'it' if refused == 1 else 'them'} after the resident signed (or after a "
                    "case asked for a suspension); each has a high incident on the officials' "
                    "incident list, and nothing is retried."
                )
            if not rows:
                # A silent command read as a broken one on a fresh demo.
                self.stdout.write(
                    "The outbox is empty: no outside call has been queued yet "
                    "(a signed health-insurance registration queues the insurer's call)."
                )
        else:
            self._reconcile()

    def _retrying(self) -> None:
        """Pending calls that failed before wait for their next attempt (ADR 1501: status shows
        them): how many, when the first is due, and the newest error."""
        failed = OutsideCall.objects.filter(state="pending").exclude(last_error="")
        first = failed.order_by("next_attempt_at").first()
        if first is None:
            return
        newest = failed.order_by("-pk").first()
        assert newest is not None
        due = timezone.localtime(first.next_attempt_at)
        n = failed.count()
        error = _named(ERROR_WORDS, newest.last_error)
        self.stdout.write(
            f"{counted(n, 'pending call')} failed before and {'waits' if n == 1 else 'wait'} to be "
            "retried; the first "
            f"next attempt at {due:%H:%M:%S %Z}; the latest error: {error}. The worker "
            "retries by itself under the same keys (nothing is registered twice); if the error "
            "stays, check the insurer and OUTSIDE_INSURER_URL."
        )

    def _overdue(self) -> None:
        """Pending calls due long ago: nobody is draining the outbox (the kick after a commit
        tries a call once; only a worker retries it)."""
        since = timezone.now() - timedelta(seconds=OVERDUE_SECONDS)
        overdue = OutsideCall.objects.filter(state="pending", next_attempt_at__lt=since)
        oldest = overdue.order_by("next_attempt_at").first()
        if oldest is None:
            return
        n = overdue.count()
        self.stdout.write(
            f"{counted(n, 'pending call')} {'has' if n == 1 else 'have'} been due since "
            f"{timezone.localtime(oldest.next_attempt_at):%Y-%m-%d %H:%M:%S %Z} or later without "
            "a worker taking "
            f"{'it' if n == 1 else 'them'}: check that `madoguchi outside worker` runs beside "
            "`madoguchi serve`, with the same DATABASE_URL (docs/outside.md, The worker)."
        )

    def _worker(self, once: bool, every: float, parent_pid: int) -> None:
        if once:
            result = outbox.drain()
            for o in result.outcomes:
                line = f"{o.key}: {_named(OUTCOME_WORDS, o.outcome)}"
                if o.code:
                    why = ERROR_WORDS.get(o.code) or o.message.rstrip(".")
                    line += f"; {why} [{o.code}]" if why else f" [{o.code}]"
                self.stdout.write(line)
            self.stdout.write(
                f"Outbox: {result.count('registered')} registered, "
                f"{result.count('refused')} refused, {result.count('retry')} to retry."
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if parent_pid:
            threading.Thread(target=_watch, args=(parent_pid, stop), daemon=True).start()
        self.stdout.write(f"outbox worker: polling every {every:g} s (Ctrl-C stops)")
        outbox.run(every=every, stop=stop)

    def _reconcile(self) -> None:
        try:
            report = reconcile()
        except OutsideError as exc:
            # The outside error's own message is written for a desk ("Nothing was linked"); an
            # operator reads what could not be read, where, why, and that nothing changed.
            raise CommandError(
                f"reconcile: could not read the health insurer's registrations at {_insurer_url()} "
                f"({_why(exc)}). Nothing was compared or changed; run it again once the insurer "
                "answers (OUTSIDE_INSURER_URL names it).",
                returncode=1,
            ) from exc
        except Interrupted as stopped:
            for finding in stopped.report.findings:
                self.stdout.write(finding.line())
            raise CommandError(_interrupted(stopped), returncode=1) from stopped
        for finding in report.findings:
            self.stdout.write(finding.line())
        self.stdout.write(
            f"Reconciled {counted(report.calls, 'call')} with "
            f"{counted(report.insurer_records, 'insurer record')}: "
            f"{counted(len(report.disagreements), 'disagreement')}."
        )
        code = report.exit_code
        if code != EXIT_AGREED:
            # On standard error, with a status a cron or a monitor reads without parsing.
            new = sum(f.left == NEW for f in report.findings)
            raise CommandError(
                f"reconcile: {counted(len(report.left), 'finding')} left for people, "
                f"{new} with an incident recorded by this run (exit {code}); the officials' "
                "incident list shows them.",
                returncode=code,
            )


def _interrupted(stopped: Interrupted) -> str:
    """A run the database stopped after it began to act: what it did, and the call it may have
    re-sent unrecorded (it said "nothing was changed" of a run that had re-sent calls)."""
    report = stopped.report
    done = (
        f"{counted(len(report.findings), 'finding')} printed above, each acted on"
        if report.findings
        else "no finding before"
    )
    line = (
        f"reconcile: database error: {database_words(stopped.__cause__ or stopped)}. "
        f"Stopped after {done}"
    )
    if report.checking:
        line += (
            f"; while checking {report.checking}, which may have been sent to the insurer "
            "without its answer recorded (under the same key: the worker or the next run "
            "records it, nothing is registered twice)"
        )
    return f"{line}. Run it again once the database answers."


def _named(words: dict[str, str], code: str) -> str:
    """A code in words, the code beside it in brackets; a code without words as it is."""
    return f"{words[code]} [{code}]" if code in words else code


def _insurer_url() -> str:
    client = getattr(outside.systems().insurer, "client", None)
    return str(getattr(client, "base_url", "") or settings.BENEFITS_OUTSIDE.get("insurer_url", ""))


def _why(exc: OutsideError) -> str:
    if isinstance(exc, OutsideTimeout):
        return f"it did not answer in time, {counted(exc.attempts, 'attempt')}"
    if isinstance(exc, OutsideUnavailable):
        status = f"HTTP {exc.status}" if exc.status else "no connection"
        return f"it could not be reached: {status}, {counted(exc.attempts, 'attempt')}"
    if isinstance(exc, OutsideAccessDenied):
        return f"it refused our credentials or permission: HTTP {exc.status}"
    if isinstance(exc, OutsideProtocolError):
        return "its answer was not understood, or the URL is not usable"
    return exc.code


def _watch(pid: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:
            pass
        time.sleep(2)
