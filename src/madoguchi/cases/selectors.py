"""Reads for cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from madoguchi.audit.models import AuditEvent

from . import remedy
from .constants import EntryKind, Programme


def visit_trail(visit: Any) -> QuerySet[AuditEvent]:
    """The audit trail of a visit: events about the visit or its completions, and everything
    recorded at its terminal while it was open (card insertions and removals included)."""
    completions = [str(pk) for pk in visit.completions.values_list("pk", flat=True)]
    end = visit.ended_at or timezone.now()
    return AuditEvent.objects.filter(
        Q(subject_type="desk.visit", subject_id=str(visit.pk))
        | Q(subject_type="desk.completion", subject_id__in=completions)
        | Q(terminal_id=str(visit.terminal_id), time__gte=visit.started_at, time__lte=end)
    ).order_by("seq")


@dataclass(frozen=True)
class HolderKana:
    """What a case knows of the account holder's kana (the insured person's, for an insurance
    case): `kana` when the outside system reported it (a registration's, or a legacy link's
    from the scan's input), else `missing`, why not: `legacy` (a link from the old system
    keeps no name), `not_reported` (the provider, bank or insurer gave none, or the scan's
    input had none), `not_carried` (a case the scan opened before legacy links kept the name),
    `no_registration` (no registration this system holds). `registered_kana`: the kana the
    registration used for the resident ("" if none)."""

    kana: str = ""
    missing: str = ""
    registered_kana: str = ""


def case_registration(case: Any) -> Any:
    """The registration the case is about (`remedy.registration`), read once by its caller:
    for a public-fund case the one its suspension step suspended, else (and for an insurance
    case) the resident's latest made before the case was opened."""
    acted_on = None
    if str(case.programme) == Programme.PUBLIC_FUND and case.pk is not None:
        # The registration the case's suspension step suspended (its entry's detail).
        for detail in (
            case.timeline.filter(kind=EntryKind.SUSPENSION)
            .order_by("-seq")
            .values_list("detail", flat=True)
        ):
            acted_on = (detail or {}).get("public_fund_account")
            if acted_on is not None:
                break
    return remedy.registration(
        str(case.programme),
        case.payment_link,
        case.holder,
        opened_at=case.opened_at,
        acted_on=acted_on,
    )


def holder_kana(case: Any, registration: Any = None) -> HolderKana:
    """The kana the case's registration recorded; `registration` when the caller has read it
    already (`case_registration`), else it is read here."""
    if case.legacy_link_id is not None:
        legacy = case.legacy_link
        if legacy.holder_kana:  # the scan's input reported it (links.holder_kana)
            return HolderKana(kana=legacy.holder_kana)
        return HolderKana(missing=legacy.holder_kana_missing or "legacy")
    if registration is None:
        registration = case_registration(case)
    names = remedy.registered_names(registration)
    if names is None:
        return HolderKana(missing="no_registration")
    kana, registered = names
    return HolderKana(kana=kana, missing="" if kana else "not_reported", registered_kana=registered)


def visible_cases(user: Any) -> QuerySet[Any]:
    """The cases `user` may open: a city official those of their own city. A case belongs to
    the city of its desk (the terminal's contractor's city); one without a desk to the city of
    the organisation that opened it (the city itself, or a contractor serving it); one opened
    by no organisation (the resident page's system account without a desk) to every city.
    Anyone else only with the superuser flag; others' cases are 404, as missing ones."""
    from madoguchi.cases.models import Case

    if user.is_superuser:
        return Case.objects.all()
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return Case.objects.none()
    deskless = Q(terminal__isnull=True) & (
        Q(opened_by__organisation_id=org_id)
        | Q(opened_by__organisation__city_id=org_id)
        | Q(opened_by__organisation__isnull=True)
    )
    return Case.objects.filter(Q(terminal__contractor__city_id=org_id) | deskless)
