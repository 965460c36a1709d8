"""Reads of a resident's records by staff and officials, recorded in the audit log.

Every page or export that shows a card holder's data calls `record_read` with the holder, so
the resident can see on their own page (/me/) who looked at their records, when, from which
organisation and role, which page, and why where a reason is required. Officials opening a
resident's case or visit must choose a reason first (`READ_REASONS`); `reason_required` is
the view decorator that asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.terminals.binding import current_terminal

from .models import HolderCertificate

# Pages that show a resident's data (code -> label). The code is what the audit log keeps.
READ_PAGES: dict[str, Any] = {
    "desk.visit": _("Desk: the open visit"),
    "desk.confirm": _("Desk: confirmation before signing"),
    "desk.receipt": _("Desk: receipt after signing"),
    "desk.api.visit": _("Desk: the open visit, read through the API"),
    "benefits.receipt_pdf": _("Desk: receipt (PDF)"),
    "officials.visit": _("Officials: visit record"),
    "cases.case": _("Cases: case record"),
    "cases.list": _("Cases: list of cases"),
    "cases.report": _("Cases: incident report"),
    "cases.notice": _("Cases: notice letter to the resident (PDF)"),
    "cases.new_from_incident": _("Cases: intake filled from an incident"),
    "scans.finding": _("Scans: one finding"),
    "scans.run": _("Scans: findings of a run"),
    "scans.report": _("Scans: a run's report (HTML or PDF)"),
    "incidents.list": _("Incidents: list of the day"),
    "incidents.incident": _("Incidents: one incident"),
    "officials.incidents": _("Officials: incident list"),
    "reports.daily": _("Daily report of a desk"),
    "reports.daily_pdf": _("Daily report of a desk (PDF)"),
    "reports.daily_xlsx": _("Daily report of a desk (Excel)"),
    # The operators' admin (`identity.admin_reads`): a list of records or one record.
    "admin.benefits.paymentlink": _("Admin: payment service links"),
    "admin.benefits.publicfundaccount": _("Admin: public-fund receiving accounts"),
    "admin.benefits.healthinsuranceregistration": _("Admin: health-insurance registrations"),
    "admin.benefits.grant": _("Admin: points granted"),
    "admin.benefits.ledgertransfer": _("Admin: the points ledger"),
    "admin.benefits.outsidecall": _("Admin: a request to the insurer about your registration"),
    "admin.cases.case": _("Admin: cases"),
    "admin.cases.legacylink": _("Admin: links made before signed completion"),
    "admin.incidents.incident": _("Admin: incidents"),
    "admin.reports.dailyreport": _("Admin: a desk's daily report as submitted"),
    "admin.audit.auditevent": _("Admin: an audit log event about your records"),
    # Commands at the server (`record_reads_at_the_shell`).
    "scans.export": _("The forensic scan: your links and desk records written out as its input"),
}

# Who read, for a read made by a command at the server rather than a signed-in member (the
# payload's `role`; the resident's page names it in words).
SHELL_READER = "server_command"

# Why an official opens a resident's case or visit (a short choice list).
READ_REASONS: dict[str, Any] = {
    "resident_inquiry": _("The resident's own inquiry"),
    "case_work": _("Working on a case"),
    "incident": _("Investigating an incident"),
    "daily_check": _("Daily check of desk work"),
    "audit": _("Audit or inspection"),
}

REASON_PARAM = "reason"


def record_read(
    request: HttpRequest,
    holder: Any,
    *,
    page: str,
    reason: str = "",
    subject: Any = None,
    others: Iterable[int | None] = (),
) -> None:
    """Record that the signed-in user viewed `holder`'s data on `page` (an audit event).

    A record about a resident the system has no card holder for (a case opened from a scan's
    finding or a legacy link, a finding itself: the resident is the scan's id) is recorded with
    the record read as its subject; only a read of neither is not recorded. `others`: the ids
    of the other card holders the same page shows (a visit's legal representative, whose name
    and account its lines carry: `representative_holder_ids`), each recorded with the same
    read, so each of them sees it on their own page."""
    shown: list[Any] = []
    if holder is not None:
        shown.append(holder)
    elif subject is not None:
        shown.append(subject)
    first = _holder_key(holder)
    shown += [
        ("identity.holder", str(pk))
        for pk in sorted({int(pk) for pk in others if pk is not None})
        if str(pk) != first
    ]
    if not shown:
        return
    # Imported here to break the cycle with identity.events, which names READ_PAGES.
    from .events import RECORD_READ

    user = request.user
    organisation = getattr(user, "organisation", None)
    roles = sorted(getattr(user, "roles", set()) or [])
    payload = {
        "page": page,
        "reason": reason,
        "organisation": str(organisation) if organisation is not None else "",
        "role": ",".join(roles),
        "object": f"{subject._meta.label_lower}:{subject.pk}" if subject is not None else "",
    }
    with transaction.atomic():
        for who in shown:
            audit.record(
                RECORD_READ,
                actor=user,
                terminal=current_terminal(request),
                subject=who,
                payload=dict(payload),
            )


def _holder_key(holder: Any) -> str | None:
    """The id of `holder` (a Holder or an ("identity.holder", id) pair) as the log keeps it."""
    if isinstance(holder, tuple):
        return str(holder[1])
    pk = getattr(holder, "pk", None)
    return str(pk) if pk is not None else None


def representative_holder_ids(*visits: Any) -> list[int]:
    """The card holders of these visits' second cards (a legal representative's own card,
    docs/desk.md "Two cards in one visit"): a page of such a visit shows their name, their
    kana and their account as well as the resident's, so their page lists the read too."""
    certificates = {
        v.companion_certificate_id
        for v in visits
        if v is not None and getattr(v, "companion_certificate_id", None) is not None
    }
    if not certificates:
        return []
    return sorted(
        set(
            HolderCertificate.objects.filter(pk__in=certificates).values_list(
                "holder_id", flat=True
            )
        )
    )


def record_reads(
    request: HttpRequest, holder_ids: Iterable[int | None], *, page: str, reason: str = ""
) -> int:
    """`record_read` for a list or export that shows several residents' data (an incident
    list, a daily report): one event per holder shown, so each of them sees it on /me/.
    Returns how many were recorded."""
    ids = sorted({int(pk) for pk in holder_ids if pk is not None})
    if not ids:
        return 0
    with transaction.atomic():
        for pk in ids:
            record_read(request, ("identity.holder", str(pk)), page=page, reason=reason)
    return len(ids)


def record_reads_at_the_shell(
    holder_ids: Iterable[int | None], *, page: str, reason: str, os_user: str
) -> int:
    """`record_reads` for a command run at the server's shell (`scan export`): no member is
    signed in, so the event has no actor and names the OS user who ran it; the resident's page
    shows it as read by the operator with a command at the server. Returns how many."""
    from .events import RECORD_READ

    ids = sorted({int(pk) for pk in holder_ids if pk is not None})
    with transaction.atomic():
        for pk in ids:
            audit.record(
                RECORD_READ,
                actor=None,
                terminal=None,
                subject=("identity.holder", str(pk)),
                payload={
                    "page": page,
                    "reason": reason,
                    "organisation": "",
                    "role": SHELL_READER,
                    "object": "",
                    "os_user": os_user,
                },
            )
    return len(ids)


_SESSION_KEY = "read_reasons"


def chosen_reason(request: HttpRequest) -> str:
    """The reason given for this page: from the form, else the one given earlier in this
    sign-in for the same page (so a step's redirect back to the case does not ask again)."""
    value = request.GET.get(REASON_PARAM, "")
    if value not in READ_REASONS and request.method == "POST":
        # The reason page asked before a form was sent: it sends the form again with it.
        value = request.POST.get(REASON_PARAM, "")
    if value in READ_REASONS:
        remembered = dict(request.session.get(_SESSION_KEY, {}))
        remembered[request.path] = value
        request.session[_SESSION_KEY] = dict(list(remembered.items())[-50:])
        return value
    value = request.session.get(_SESSION_KEY, {}).get(request.path, "")
    return value if value in READ_REASONS else ""


def ask_reason(request: HttpRequest) -> HttpResponse | None:
    """The page asking for a reason from `READ_REASONS`, or None when one was given (read it
    with `chosen_reason(request)`). For a view that needs a reason only in some cases."""
    if chosen_reason(request):
        return None
    response = render(
        request,
        "access/reason.html",
        {
            "reasons": list(READ_REASONS.items()),
            "param": REASON_PARAM,
            "resend": _resent_fields(request),
            # A GET form replaces the address's query: the page's own (a list's filter, its
            # page number) is sent again with the reason, so the official lands where they
            # were going (a run's findings of one cause, not all of them).
            "query": [
                (name, value)
                for name, values in request.GET.lists()
                if name != REASON_PARAM
                for value in values
            ]
            if request.method == "GET"
            else [],
        },
    )
    response["Cache-Control"] = "no-store"
    return response


def _resent_fields(request: HttpRequest) -> list[tuple[str, str]] | None:
    """What a form sent without a reason carried (None for a GET): the reason page posts it
    again with the reason, so the official loses nothing they typed (a GET form reloaded the
    page and dropped the report text being edited)."""
    if request.method != "POST":
        return None
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", REASON_PARAM)
        for value in values
    ]


def reason_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Ask for a reason from `READ_REASONS` before the view runs; the view reads it with
    `chosen_reason(request)`."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        asked = ask_reason(request)
        if asked is not None:
            return asked
        return view(request, *args, **kwargs)

    return wrapped
