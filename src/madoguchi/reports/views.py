"""Daily report pages (supervisor: preview, note, submit; everyone allowed: exports), the
city's received/missing grid, and the dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from madoguchi.accounts.constants import Role
from madoguchi.identity.access import chosen_reason, record_reads
from madoguchi.incidents.access import roles_required, visible_terminal
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.reading import ask_reason_for_residents
from madoguchi.incidents.selectors import parse_day, visit_holder_ids
from madoguchi.refusals import Refusal
from madoguchi.terminals.models import Terminal
from madoguchi.terminals.selectors import terminal_with_contractor, terminals_for

from . import charts, exports, selectors, services
from .models import DailyReport

VIEWERS = (Role.SUPERVISOR, Role.CITY_OFFICIAL)
DEFAULT_DAYS, MAX_DAYS = 14, 62


def _kind_label(kind: str) -> str:
    return str(IncidentKind(kind).label) if kind in IncidentKind.values else kind


def _parse_day(value: str) -> date:
    day = parse_day(value)
    if day is None:
        raise Http404("Not a date (YYYY-MM-DD).")
    return day


def _load(
    request: HttpRequest, terminal_id: int, day: str
) -> tuple[Terminal, date, DailyReport | None, dict[str, Any]]:
    terminal = terminal_with_contractor(terminal_id)
    if terminal is None:
        raise Http404("No such desk.")
    if not visible_terminal(request.user, terminal):
        # Another organisation's desk answers as a missing one (docs/security.md, "another
        # city"): a 403 told its reader that the desk exists.
        raise Http404("No such desk.")
    d = _parse_day(day)
    submitted = selectors.submitted_report(terminal, d)
    content = submitted.snapshot if submitted else services.build_daily(terminal, d)
    return terminal, d, submitted, content


def _record_reads(request: HttpRequest, content: dict[str, Any], page: str) -> HttpResponse | None:
    """A daily report lists incidents of residents' visits: a city official says why first (the
    page asking it is returned), and each of the residents sees the read."""
    ids = [i["id"] for i in content.get("incidents", []) if i.get("visit")]
    asked = ask_reason_for_residents(request, bool(ids))
    if asked is not None:
        return asked
    record_reads(request, visit_holder_ids(ids), page=page, reason=chosen_reason(request))
    return None


def grid_days(n: int) -> list[date]:
    """The grid's days, today first: oldest first, today's column (the report a supervisor
    opens most) was the last of fourteen, or of 62, beyond the right edge of the page."""
    return selectors.days_back(n)[::-1]


@roles_required(*VIEWERS)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    terminals = terminals_for(request.user)
    days = grid_days(14)
    return render(
        request,
        "reports/index.html",
        {"rows": selectors.status_grid(terminals, days), "days": days, "title": _("Daily reports")},
    )


@roles_required(*VIEWERS)
@require_http_methods(["GET", "POST"])
def daily(request: HttpRequest, terminal_id: int, day: str) -> HttpResponse:
    terminal, d, submitted, content = _load(request, terminal_id, day)
    kept_note, status = "", 200
    if request.method == "POST":
        note = request.POST.get("note", "")
        try:
            services.daily_report_submit(
                actor=request.user,  # type: ignore[arg-type]
                terminal=terminal,
                day=d,
                note=note,
            )
        except Refusal as exc:
            # The page again, the note as written in its field: the redirect lost it, and the
            # supervisor typed it again from memory (a number to take out, a character).
            messages.error(request, exc.text())
            if selectors.submitted_report(terminal, d) is not None:  # submitted meanwhile
                return redirect("reports:daily", terminal_id=terminal.pk, day=d.isoformat())
            kept_note, status = note.replace("\x00", ""), 400
        else:
            messages.success(request, _("The report was submitted and frozen."))
            return redirect("reports:daily", terminal_id=terminal.pk, day=d.isoformat())
    asked = _record_reads(request, content, "reports.daily")
    if asked is not None:
        return asked
    before = services.before_registration(terminal, d)
    may_submit = submitted is None and services.can_submit(request.user, terminal) and not before
    over = services.day_over(d)
    return render(
        request,
        "reports/daily.html",
        {
            # Not `terminal`: the page header names the browser's own terminal by that key.
            "desk_terminal": terminal,
            "day": d,
            "r": content,
            "incidents": exports.incident_rows(content),
            "refusals": exports.refusal_rows(content),
            "kinds": exports.kind_rows(content),
            # The tables' words are the PDF's and the workbook's (the time column names its
            # zone, an empty table says なし), so the three say the same things the same way.
            "w": exports.words(exports.document_language(get_language())),
            "submitted": submitted,
            "verified": services.verify(submitted) if submitted else None,
            # A day not over offered the form, whose note the refusal then lost: it says when.
            "can_submit": may_submit and over,
            "day_not_over": may_submit and not over,
            "before_registration": before and submitted is None,
            "reason": chosen_reason(request),
            "note": kept_note,
        },
        status=status,
    )


@roles_required(*VIEWERS)
@require_GET
def daily_pdf(request: HttpRequest, terminal_id: int, day: str) -> HttpResponse:
    terminal, d, submitted, content = _load(request, terminal_id, day)
    asked = _record_reads(request, content, "reports.daily_pdf")
    if asked is not None:
        return asked
    response = HttpResponse(
        exports.to_pdf(content, submitted=submitted, language=get_language()),
        content_type="application/pdf",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="daily-{terminal.pk}-{d.isoformat()}.pdf"'
    )
    return response


@roles_required(*VIEWERS)
@require_GET
def daily_xlsx(request: HttpRequest, terminal_id: int, day: str) -> HttpResponse:
    terminal, d, submitted, content = _load(request, terminal_id, day)
    asked = _record_reads(request, content, "reports.daily_xlsx")
    if asked is not None:
        return asked
    response = HttpResponse(
        exports.to_xlsx(content, submitted=submitted, language=get_language()),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="daily-{terminal.pk}-{d.isoformat()}.xlsx"'
    )
    return response


def _days_shown(request: HttpRequest) -> int:
    """How many days back the city's grid shows: ?days=N, 1 to 62; anything else is said so
    on the page, which then shows the usual 14."""
    raw = request.GET.get("days", "")
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_DAYS:
        return int(raw)
    if raw:
        messages.warning(
            request,
            _(
                "“%(value)s” is not a number of days from 1 to %(max)s; the last %(n)s days are shown."
            )
            % {"value": raw[:40], "max": MAX_DAYS, "n": DEFAULT_DAYS},
        )
    return DEFAULT_DAYS


@roles_required(Role.CITY_OFFICIAL)
@require_GET
def city(request: HttpRequest) -> HttpResponse:
    terminals = terminals_for(request.user)
    days = grid_days(_days_shown(request))
    rows = selectors.status_grid(terminals, days)
    missing = sum(1 for row in rows for c in row["cells"] if c["status"] == "missing")
    return render(
        request,
        "reports/index.html",
        {
            "rows": rows,
            "days": days,
            "missing": missing,
            "show_missing": True,
            "title": _("Reports received (city)"),
        },
    )


@roles_required(*VIEWERS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    terminals = terminals_for(request.user)
    days = selectors.days_back(14)
    s = selectors.dashboard_series(terminals, days)
    incidents = {_kind_label(k): v for k, v in s["incidents"].items()}
    titles = [
        _("Visits per desk per day"),
        _("Completions per desk per day"),
        _("Refusals by reason per day"),
        _("Incidents over time, by kind"),
    ]
    drawn = [
        charts.bar_chart(titles[0], days, s["visits"]),
        charts.bar_chart(titles[1], days, s["completions"]),
        charts.bar_chart(titles[2], days, s["refusals"], stacked=True),
        charts.line_chart(titles[3], days, incidents),
    ]
    per_desk = [
        (name, charts.bar_chart(f"{titles[2]}: {name}", days, reasons, stacked=True))
        for name, reasons in s["refusals_by_desk"].items()
    ]
    return render(
        request,
        "reports/dashboard.html",
        {"charts": list(zip(titles, drawn, strict=True)), "per_desk": per_desk, "series": s},
    )
