"""Building and submitting the contractor's daily report per desk.

The report is generated from the data: every incident of the desk's day is in it, and nobody
can leave one out. The supervisor may add a note; submitting freezes the content (snapshot
and SHA-256) and records an audit event."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.desk.models import Completion, Visit
from madoguchi.desk.sweep import settle_desk_day
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.selectors import (
    day_bounds,
    incidents_for_terminal_day,
    with_committed_counts,
)
from madoguchi.incidents.text import stored_text
from madoguchi.plaintext import LONG_NUMBER_MESSAGE, bad_character, blank, long_number
from madoguchi.refusals import Refusal
from madoguchi.terminals.models import Terminal

from .events import REPORT_SUBMITTED
from .models import DailyReport

REFUSAL_KINDS = (
    IncidentKind.COMPLETION_REFUSED,
    IncidentKind.VISIT_START_REFUSED,
    IncidentKind.NAME_CHECK,
    IncidentKind.OUTSIDE_REFUSED,
)
FORMAT_VERSION = 1


class ReportRefused(Refusal):
    """A refused report operation."""

    code = "report_refused"
    status = 409


def build_daily(terminal: Terminal, day: date) -> dict[str, Any]:
    """The report's content, from the records (JSON-ready)."""
    start, end = day_bounds(day)
    visits = Visit.objects.filter(
        terminal=terminal, started_at__gte=start, started_at__lt=end
    ).count()
    completions = Completion.objects.filter(
        visit__terminal=terminal, committed_at__gte=start, committed_at__lt=end
    ).count()
    incidents = with_committed_counts(incidents_for_terminal_day(terminal, day))
    refusals = Counter(
        f"{i.kind}:{i.reason_code}" for i in incidents if i.kind in {k.value for k in REFUSAL_KINDS}
    )
    by_kind = Counter(i.kind for i in incidents)
    tz = timezone.get_current_timezone()
    return {
        "format": FORMAT_VERSION,
        "contractor": terminal.contractor.name,
        "contractor_id": terminal.contractor_id,
        "terminal": terminal.name,
        "terminal_id": terminal.pk,
        "location": terminal.location,
        "day": day.isoformat(),
        "counts": {
            "visits": visits,
            "completions": completions,
            "refusals": dict(sorted(refusals.items())),
            "incidents": dict(sorted(by_kind.items())),
            "incidents_total": len(incidents),
        },
        "incidents": [
            {
                "id": i.pk,
                "at": timezone.localtime(i.occurred_at, tz).isoformat(timespec="seconds"),
                "kind": i.kind,
                "kind_label": str(IncidentKind(i.kind).label)
                if i.kind in IncidentKind.values
                else i.kind,
                "reason": i.reason_code,
                "severity": i.severity,
                "summary": i.summary,
                "visit": i.visit.reference if i.visit is not None else "",
                "staff": str(i.staff) if i.staff_id else "",
                "source": i.source,
                # The sentence's language-neutral form, rendered at display time (an old row's
                # built from its code, when its kind says how).
                **({"text": text} if (text := stored_text(i)) is not None else {}),
            }
            for i in incidents
        ],
    }


def content_hash(content: dict[str, Any]) -> str:
    data = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def can_submit(user: Any, terminal: Terminal) -> bool:
    return bool(
        user.has_role(Role.SUPERVISOR)
        and user.organisation_id is not None
        and user.organisation_id == terminal.contractor_id
    )


def day_over(day: date) -> bool:
    """Whether `day` has ended in the city's time: its report may be submitted."""
    return day < timezone.localdate()


def before_registration(terminal: Terminal, day: date) -> bool:
    """Whether `day` is before the desk's terminal was registered (the city's grid: 登録前)."""
    return day < timezone.localdate(terminal.created_at)


def daily_report_submit(
    *, actor: User, terminal: Terminal, day: date, note: str = ""
) -> DailyReport:
    """Freeze and submit a desk's day. Only a supervisor of the desk's contractor; once per day;
    not before the day has ended."""
    if not can_submit(actor, terminal):
        raise ReportRefused(
            "not_contractor_supervisor",
            _("Only a supervisor of the desk's contractor can submit its daily report."),
        )
    if not day_over(day):
        raise ReportRefused(
            "day_not_over",
            _("A day's report can be submitted once the day is over."),
        )
    if before_registration(terminal, day):
        # The city's grid marks such a day 登録前, no report due; one submitted (1900-01-01)
        # was frozen for good.
        raise ReportRefused(
            "before_registration",
            _(
                "The desk was not registered yet on this day, so no report is due for it. "
                "Nothing was submitted."
            ),
        )
    if bad_character(note):  # a NUL was a server error (PostgreSQL cannot store it)
        raise ReportRefused(
            "note_not_allowed",
            _(
                "The note contains characters that cannot be accepted (control characters or "
                "broken characters). Nothing was submitted; write it again."
            ),
        )
    if long_number(note):  # the note is frozen into the report officials read
        raise ReportRefused("note_number", LONG_NUMBER_MESSAGE)
    if blank(note):  # white space, U+200B, a Hangul filler: no note, not a note of nothing
        note = ""
    # What the sweeper would record of the day at this moment, recorded first (a visit that
    # lapsed at 23:50, its incident dated then): the frozen report would miss it. Only by the
    # sweeper's own rules and limits: a desk whose staff may still tick its last visit's items
    # is not cut off. A visit still open after this ends after the day's end (it has not
    # lapsed by now), so what it leaves is dated then, in a later day's report: it does not
    # hold this one back.
    settle_desk_day(terminal, day_bounds(day)[1])
    content = build_daily(terminal, day)
    content["note"] = note
    digest = content_hash(content)
    try:
        with transaction.atomic():
            report = DailyReport.objects.create(
                contractor=terminal.contractor,
                terminal=terminal,
                day=day,
                note=note,
                snapshot=content,
                sha256=digest,
                submitted_by=actor,
            )
            audit.record(
                REPORT_SUBMITTED,
                actor=actor,
                terminal=terminal,
                subject=report,
                payload={
                    "terminal_name": terminal.name,
                    "day": day.isoformat(),
                    "incidents": content["counts"]["incidents_total"],
                    "sha256": digest,
                },
            )
    except IntegrityError as exc:
        raise ReportRefused(
            "already_submitted",
            _("This day's report was already submitted; a submitted report is frozen."),
        ) from exc
    return report


def verify(report: DailyReport) -> bool:
    """Does the stored snapshot still hash to the stored SHA-256?"""
    return content_hash(report.snapshot) == report.sha256
