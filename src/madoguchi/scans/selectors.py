"""Reads for the scan pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from .models import Finding, FindingCase, ScanRun


def runs() -> QuerySet[ScanRun]:
    return ScanRun.objects.all()


def counts_by_municipality(run: ScanRun) -> list[dict[str, Any]]:
    rows = (
        run.findings.values("municipality_code", "cause")
        .annotate(n=Count("pk"))
        .order_by("municipality_code", "cause")
    )
    table: dict[str, dict[str, int]] = {}
    for r in rows:
        table.setdefault(r["municipality_code"], {})[r["cause"]] = r["n"]
    return [{"municipality": m, "counts": c} for m, c in table.items()]


def findings(run: ScanRun, *, cause: str = "", municipality: str = "") -> QuerySet[Finding]:
    qs = run.findings.all()
    if cause:
        qs = qs.filter(cause=cause)
    if municipality:
        qs = qs.filter(municipality_code=municipality)
    return qs


def cases_for(links: list[str]) -> dict[str, int]:
    return dict(FindingCase.objects.filter(link_id__in=links).values_list("link_id", "case_id"))
