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
    before (the desk was registered later: no report was due, so none is missing)."""
    today = timezone.localdate()
    reports = {
        (r.terminal_id, r.day): r
        for r in DailyReport.objects.filter(terminal__in=terminals, day__in=days).select_related(
            "submitted_by"
        )
    }
    rows = []
    for t in terminals:
        cells = []
        registered = timezone.localdate(t.created_at)
        for d in days:
            r = reports.get((t.pk, d))
            if r:
                status = "submitted"
            elif d >= today:
                status = "open"
            elif d < registered:
                status = "before"
            else:
                status = "missing"
            cells.append({"day": d, "status": status, "report": r})
        rows.append({"terminal": t, "cells": cells})
    return rows


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
    # A refusal's reason in words: its own message in the page's language (from any of its
    # incidents with a neutral sentence); else (old rows only) its code.
    labels: dict[str, str] = {}
    for i in incidents:
        said = reason_text(neutral_text(i["kind"], i["reason_code"], i["detail"] or {}))
        if said and i["kind"] in refusal_kinds:
            labels.setdefault(i["reason_code"], said)
    for i in incidents:
        d = timezone.localtime(i["occurred_at"]).date()
        if d not in index:
            continue
        by_kind[i["kind"]][index[d]] += 1
        if i["kind"] in refusal_kinds:
            reason = labels.get(i["reason_code"], i["reason_code"])
            refusals[reason][index[d]] += 1
            desk = names.get(i["terminal_id"] or i["visit__terminal_id"])
            if desk is not None:
                row = by_desk[desk].setdefault(reason, [0] * len(days))
                row[index[d]] += 1
    return {
        "days": days,
        "visits": {t.name: [visits.get((t.pk, d), 0) for d in days] for t in terminals},
        "completions": {t.name: [completions.get((t.pk, d), 0) for d in days] for t in terminals},
        "refusals": dict(sorted(refusals.items())),
        "refusals_by_desk": {k: dict(sorted(v.items())) for k, v in by_desk.items()},
        "incidents": dict(sorted(by_kind.items())),
    }
