"""A recorded run's report (report.html, report.pdf) as the officials' pages serve it: built
from the recorded findings the reader may see, never the files `scan run` wrote. Those print
the input's place on the server and every municipality's counts and findings; a city
official's report shows their own city's findings only, without the input or its totals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from . import selectors
from .models import Finding, ScanRun

TIMELINE_LIMIT = 200
"""The findings shown with their desk events, highest score first (`scan run`'s default)."""

_TEXT = (
    "link_id",
    "cause",
    "rule",
    "resident_id",
    "other_resident_id",
    "programme",
    "channel",
    "municipality_code",
    "terminal_id",
    "staff_id",
    "session_staff",
)


def _local(value: datetime) -> datetime:
    """A time as the scan's input gave it: Japan time, without its zone."""
    return timezone.localtime(value).replace(tzinfo=None)


def _event(e: dict[str, Any]) -> dict[str, Any]:
    at = datetime.fromisoformat(str(e["at"]))
    return {
        "at": _local(at) if timezone.is_aware(at) else at,
        "event": e["event"],
        "staff_id": e.get("staff_id"),
        "resident_id": e.get("resident_id"),
        "link_id": e.get("link_id"),
    }


def html(run: ScanRun, user: Any) -> str:
    """The run's report for `user`: the operators' (the superuser flag) with the input and
    every municipality, a city official's with their city's findings only (`user`'s city has
    a municipality code: the view says why not otherwise)."""
    # Imported here: the report module loads PyArrow, which the other pages never need.
    import pyarrow as pa

    from madoguchi.scan import report

    operator = selectors.sees_every_municipality(user)
    municipality = "" if operator else selectors.municipality_of(user)
    if not operator and not municipality:
        raise ValueError("a city without a municipality code has no findings to report")
    found = list(
        selectors.findings(run, user)
        .only(*_TEXT, "score", "holder_check", "linked_at", "timeline")
        .order_by("link_id")
    )
    table = pa.table(
        {
            **{c: pa.array([getattr(f, c) or None for f in found], pa.string()) for c in _TEXT},
            "score": pa.array([f.score for f in found], pa.float64()),
            "holder_check": pa.array([f.holder_check for f in found], pa.int64()),
            "linked_at": pa.array([_local(f.linked_at) for f in found], pa.timestamp("us")),
        }
    )
    rows = dict(run.rows)
    summary = report.Summary(
        engine=run.engine,
        input_dir=run.input_dir if operator else "",
        rows=rows if operator else {},
        started=timezone.localtime(run.started_at),
        seconds=run.seconds,
        findings=len(found),
        timeline_limit=TIMELINE_LIMIT,
        unscanned=int(rows.get("links_unscanned", 0) or 0),
        municipality=municipality,
        every_finding=report.EVERY_FINDING_ON_THE_PAGE,
    )
    timelines = {f.link_id: [_event(e) for e in f.timeline] for f in _shown(found)}
    return report.to_html(table, summary, timelines)


def _shown(found: list[Finding]) -> list[Finding]:
    """The findings the report shows with their timelines (as `report.to_html` orders them)."""
    return sorted(found, key=lambda f: (-f.score, f.link_id))[:TIMELINE_LIMIT]


def to_pdf(document: str) -> bytes:
    """The PDF of a report built by ``html``."""
    from madoguchi.scan import report  # imported here, as in `html`

    return report.to_pdf(document)
