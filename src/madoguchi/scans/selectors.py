"""Reads for the scan pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from madoguchi.accounts.constants import OrganisationKind

from .models import Finding, FindingCase, ScanRun


def runs() -> QuerySet[ScanRun]:
    return ScanRun.objects.all()


def city_code(org: Any) -> str:
    """The municipality code of an organisation's city: its own if it is a city, else the city
    it serves; "" when there is none or it carries no code."""
    if org is None:
        return ""
    city = org if org.kind == OrganisationKind.CITY else org.city
    return city.municipality_code if city is not None else ""


def municipality_of(user: Any) -> str:
    """The municipality code of `user`'s city (``city_code`` of their organisation)."""
    return city_code(getattr(user, "organisation", None))


def sees_every_municipality(user: Any) -> bool:
    return bool(user.is_superuser)


def visible_findings(user: Any) -> QuerySet[Finding]:
    """The findings `user` may read: a city official those of their own city's municipality
    code (`Organisation.municipality_code`), none while their city has no code, never every
    city's; only the superuser flag sees all. Others' findings are 404, as missing ones."""
    if sees_every_municipality(user):
        return Finding.objects.all()
    code = municipality_of(user)
    if not code:
        return Finding.objects.none()
    return Finding.objects.filter(municipality_code=code)


def own_findings(user: Any) -> QuerySet[Finding]:
    """The findings whose case `user` may open: those of their own city's municipality code
    only, with or without the superuser flag. A finding's case has no desk, so it belongs to
    the city of the official who opened it (`cases.selectors.visible_cases`): opened by anyone
    else it would be another city's record (side doors, round 5)."""
    code = municipality_of(user)
    if not code:
        return Finding.objects.none()
    return Finding.objects.filter(municipality_code=code)


def counts_by_cause(user: Any, runs: list[ScanRun]) -> dict[int, dict[str, int]]:
    """Each run's findings per cause as `user` sees them (the whole run's for the superuser
    flag, as recorded)."""
    if sees_every_municipality(user):
        return {r.pk: r.counts for r in runs}
    out: dict[int, dict[str, int]] = {r.pk: {} for r in runs}
    rows = (
        visible_findings(user)
        .filter(run__in=runs)
        .values("run_id", "cause")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in rows:
        out[r["run_id"]][r["cause"]] = r["n"]
    return out


def counts_by_municipality(run: ScanRun, user: Any) -> list[dict[str, Any]]:
    rows = (
        visible_findings(user)
        .filter(run=run)
        .values("municipality_code", "cause")
        .annotate(n=Count("pk"))
        .order_by("municipality_code", "cause")
    )
    table: dict[str, dict[str, int]] = {}
    for r in rows:
        table.setdefault(r["municipality_code"], {})[r["cause"]] = r["n"]
    return [{"municipality": m, "counts": c} for m, c in table.items()]


def findings(
    run: ScanRun, user: Any, *, cause: str = "", municipality: str = ""
) -> QuerySet[Finding]:
    qs = visible_findings(user).filter(run=run)
    if cause:
        qs = qs.filter(cause=cause)
    if municipality:
        qs = qs.filter(municipality_code=municipality)
    return qs


def case_of_finding(finding: Finding) -> FindingCase | None:
    """The case opened from the finding's link, or None."""
    return FindingCase.objects.filter(link_id=finding.link_id).first()


def cases_for(links: list[str]) -> dict[str, int]:
    return dict(FindingCase.objects.filter(link_id__in=links).values_list("link_id", "case_id"))
