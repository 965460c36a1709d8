"""Reads for the city's views: which reports are in, and the dashboard series."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from madoguchi.desk.models import Completion, Visit
from madoguchi.incidents.models import Incident
from madoguchi.incidents.selectors import day_bounds
from madoguchi.incidents.text import neutral_text, reason_text
from madoguchi.terminals.models import Terminal

from .exports import refusal_label
from .models import DailyReport
from .services import REFUSAL_KINDS


def days_back(n: int, until: date | None = None) -> list[date]:
    end = until or timezone.localdate()
    return [end - timedelta(days=i) for i in range(n - 1, -1, -1)]


def submitted_report(terminal: Terminal, day: date) -> DailyReport | None:
    """The desk's report of `day` as submitted (frozen), or None while it is not."""
    return (
        DailyReport.objects.filter(terminal=terminal, day=day)
        .select_related("submitted_by")
        .first()
    )


def status_grid(terminals: list[Terminal], days: list[date]) -> list[dict[str, Any]]:
    """One row per desk: for each day, submitted (with the report) / missing / open (today) /
    before (the desk was registered later: no report was due, so none is missing) / inactive
    (the desk is set inactive and had nothing to report that day, no visit, completion or
    incident: none is due)."""
    today = timezone.localdate()
    reports = {
        (r.terminal_id, r.day): r
        for r in DailyReport.objects.filter(terminal__in=terminals, day__in=days).select_related(
            "submitted_by"
        )
    }
    served = _days_served([t for t in terminals if not t.is_active], days)
    rows = []
    for t in terminals:
        cells = []
        registered = timezone.localdate(t.created_at)
        for d in days:
            r = reports.get((t.pk, d))
            if r:
                status = "submitted"
            elif d < registered:
                status = "before"
            elif not t.is_active and (t.pk, d) not in served:
                status = "inactive"
            elif d >= today:
                status = "open"
            else:
                status = "missing"
            cells.append({"day": d, "status": status, "report": r})
        rows.append({"terminal": t, "cells": cells})
    return rows


def _days_served(terminals: list[Terminal], days: list[date]) -> set[tuple[int, date]]:
    """(terminal, day) for each of `days` on which one of `terminals` has something to report,
    as the daily report counts it (`services.build_daily`): a visit started, a completion
    committed, an incident recorded at the desk or in one of its visits. Read from visits alone,
    a day whose only record was a refused visit start (an incident, no visit) read 停止中 once
    the desk was set inactive, and its report, listing that incident, was never asked for."""
    if not terminals or not days:
        return set()
    start, _ = day_bounds(min(days))
    _, end = day_bounds(max(days))
    served = set(
        _by_day(
            Visit.objects.filter(
                terminal__in=terminals, started_at__gte=start, started_at__lt=end
            ).annotate(terminal_key=F("terminal_id")),
            "started_at",
        )
    )
    served.update(
        _by_day(
            Completion.objects.filter(
                visit__terminal__in=terminals, committed_at__gte=start, committed_at__lt=end
            ).annotate(terminal_key=F("visit__terminal_id")),
            "committed_at",
        )
    )
    for via in ("terminal", "visit__terminal"):
        served.update(
            _by_day(
                Incident.objects.filter(
                    **{f"{via}__in": terminals}, occurred_at__gte=start, occurred_at__lt=end
                ).annotate(terminal_key=F(f"{via}_id")),
                "occurred_at",
            )
        )
    return served


def _by_day(qs: Any, field: str) -> dict[tuple[int, date], int]:
    out: dict[tuple[int, date], int] = {}
    for row in (
        qs.annotate(d=TruncDate(field, tzinfo=timezone.get_current_timezone()))
        .values("terminal_key", "d")
        .annotate(n=Count("pk"))
    ):
        out[(row["terminal_key"], row["d"])] = row["n"]
    return out


def dashboard_series(terminals: list[Terminal], days: list[date]) -> dict[str, Any]:
    start, _ = day_bounds(days[0])
    _, end = day_bounds(days[-1])
    ids = [t.pk for t in terminals]
    visits = _by_day(
        Visit.objects.filter(
            terminal_id__in=ids, started_at__gte=start, started_at__lt=end
        ).annotate(terminal_key=F("terminal_id")),
        "started_at",
    )
    completions = _by_day(
        Completion.objects.filter(
            visit__terminal_id__in=ids, committed_at__gte=start, committed_at__lt=end
        ).annotate(terminal_key=F("visit__terminal_id")),
        "committed_at",
    )
    incidents = list(
        Incident.objects.filter(
            Q(terminal_id__in=ids) | Q(visit__terminal_id__in=ids),
            occurred_at__gte=start,
            occurred_at__lt=end,
        )
        .distinct()
        .values("kind", "reason_code", "occurred_at", "terminal_id", "visit__terminal_id", "detail")
    )
    names = {t.pk: t.name for t in terminals}
    by_desk: dict[str, dict[str, list[int]]] = {t.name: {} for t in terminals}
    refusals: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    index = {d: i for i, d in enumerate(days)}
    refusal_kinds = {k.value for k in REFUSAL_KINDS}
    # A refusal in words, as the daily report names it (`exports.refusal_label`): its kind and
    # its own message in the page's language (from any of its incidents with a neutral
    # sentence). Keyed by kind and reason: a card refused at the visit's start and a completion
    # refused for the same reason are two refusals.
    said: dict[tuple[str, str], str] = {}
    for i in incidents:
        key = (i["kind"], i["reason_code"])
        if i["kind"] in refusal_kinds and not said.get(key):
            said[key] = (
                reason_text(neutral_text(i["kind"], i["reason_code"], i["detail"] or {})) or ""
            )
    for i in incidents:
        d = timezone.localtime(i["occurred_at"]).date()
        if d not in index:
            continue
        by_kind[i["kind"]][index[d]] += 1
        if i["kind"] in refusal_kinds:
            key = (i["kind"], i["reason_code"])
            label = refusal_label(i["kind"], i["reason_code"], said.get(key, ""))
            refusals[label][index[d]] += 1
            desk = names.get(i["terminal_id"] or i["visit__terminal_id"])
            if desk is not None:
                row = by_desk[desk].setdefault(label, [0] * len(days))
                row[index[d]] += 1
    return {
        "days": days,
        "visits": {t.name: [visits.get((t.pk, d), 0) for d in days] for t in terminals},
        "completions": {t.name: [completions.get((t.pk, d), 0) for d in days] for t in terminals},
        "refusals": dict(sorted(refusals.items())),
        "refusals_by_desk": {k: dict(sorted(v.items())) for k, v in by_desk.items()},
        "incidents": dict(sorted(by_kind.items())),
    }
