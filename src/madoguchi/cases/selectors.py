"""Reads for cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import visit_events
from madoguchi.identity.access import representative_holder_ids

from . import remedy
from .constants import REGISTRATION_KEY, EntryKind, Programme
from .models import Case

_NOT_READ = object()


def residents_shown(case: Any, registration: Any = _NOT_READ) -> list[int]:
    """Besides the case's own resident, the card holders its pages show: the holder of the
    link or registration it is about (a legal representative's report of a link made for a
    minor is the minor's link) and the legal representative of the visit that made it or of
    its incident (their name and account are in it). `registration`: `case_registration`,
    when the caller read it already."""
    if registration is _NOT_READ:
        registration = case_registration(case) if case.programme != Programme.POINTS else None
    rows = [row for row in (case.payment_link, registration) if row is not None]
    visits = [row.visit for row in rows]
    if case.incident_id is not None and case.incident.visit_id is not None:
        visits.append(case.incident.visit)
    return [*(row.holder_id for row in rows), *representative_holder_ids(*visits)]


def visit_trail(visit: Any) -> QuerySet[AuditEvent]:
    """The audit trail of a visit (`audit.selectors.visit_events`)."""
    return visit_events(visit)


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


@dataclass(frozen=True)
class InsurerSuspension:
    """Where an insurance case's suspension at the insurer stands, as the case page says it:
    `state` suspending | suspended | refused; `when` the insurer's suspension was recorded;
    `reason` the insurer's refusal as a sentence in the page's language; `attempts` and
    `failing` (the last attempt could not reach the insurer: the outbox retries it)."""

    state: str
    when: Any = None
    reason: str = ""
    attempts: int = 0
    failing: bool = False
    call_key: str = ""


def insurer_suspension(case: Any, lang: str = "ja") -> InsurerSuspension | None:
    """The insurer's suspension of the registration the case's suspension step asked for (its
    entry's detail), None when the step asked nothing of the insurer."""
    if str(case.programme) != Programme.HEALTH_INSURANCE:
        return None
    pk = _acted_on(case)
    reg = remedy.insurance_by_pk(pk) if pk is not None else None
    if reg is None or not reg.suspension:
        return None
    call = remedy.latest_cancellation(reg)
    code = str((call.result or {}).get("code", "")) if call is not None else ""
    return InsurerSuspension(
        state=str(reg.suspension),
        when=reg.status_changed_at,
        reason=remedy.insurer_refusal(code, lang) if reg.suspension == "refused" else "",
        attempts=call.attempts if call is not None else 0,
        failing=bool(call is not None and call.state == "pending" and call.last_error),
        call_key=call.key if call is not None else "",
    )


def open_case_about(holder: Any, programme: str, subject: Any) -> Any:
    """The oldest case not closed about `subject` of `holder`: a payment link (the case's
    link) or a public-fund account or insurance registration (the one the case is about,
    `case_registration`); None when there is none. One record, one case: a case about it
    whose resident is `holder`, the record's own or its legal representative's (a minor's
    account made into the representative's own: either may have reported it first)."""
    if subject is None:
        return None
    if programme == Programme.POINTS:
        cases = Case.objects.filter(payment_link=subject)
    else:
        holders = {getattr(holder, "pk", holder), subject.holder_id}
        representative = getattr(subject, "representative", None)
        if representative is not None:
            holders.add(representative.certificate.holder_id)
        cases = Case.objects.filter(holder__in=holders, programme=programme)
    for case in cases.select_related("payment_link", "holder", "incident").order_by("pk"):
        if case.closed:
            continue
        if programme == Programme.POINTS or case_registration(case) == subject:
            return case
    return None


def case_registration(case: Any) -> Any:
    """The registration the case is about (`remedy.registration`), read once by its caller:
    for a public-fund or insurance case the one its suspension step acted on, else the
    resident's latest made before the case was opened."""
    return remedy.registration(
        str(case.programme),
        case.payment_link,
        case.holder,
        opened_at=case.opened_at,
        acted_on=_acted_on(case),
    )


def _registration_key(case: Any) -> str | None:
    """The timeline detail key naming a registration of the case's programme, None for a
    point case or a case not saved yet."""
    if not case.programme or case.pk is None:
        return None
    return REGISTRATION_KEY.get(Programme(case.programme))


def _acted_on(case: Any) -> Any:
    """The pk of the registration the case's latest suspension step acted on (its entry's
    detail: suspended, or asked of the insurer), else of the one its intake names (a
    resident's report of that registration), None if none."""
    name = _registration_key(case)
    if name is None:
        return None
    for detail in (
        case.timeline.filter(kind=EntryKind.SUSPENSION)
        .order_by("-seq")
        .values_list("detail", flat=True)
    ):
        pk = (detail or {}).get(name)
        if pk is not None:
            return pk
    return reported_registration(case)


def reported_registration(case: Any) -> Any:
    """The pk of the registration the case's intake names (a resident reported it on their own
    page: a signed registration, the case's subject), None if none."""
    name = _registration_key(case)
    if name is None:
        return None
    intake = case.timeline.filter(kind=EntryKind.INTAKE).values_list("detail", flat=True).first()
    return (intake or {}).get(name)


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
    the city of its desk, as the desk's visits and incidents do (`visible_terminals`: a desk
    of one of the city's contractors, or a desk the city runs itself, its own organisation the
    terminal's contractor); one without a desk to the city of the organisation that opened it
    as it was when the case was opened (`Case.organisation`: the city itself, or a contractor
    serving it; the opener moved to another organisation later takes nothing with them); one
    opened by no organisation (the resident page's system account without a desk) to every
    city. Anyone else only with the superuser flag; others' cases are 404, as missing ones."""
    if user.is_superuser:
        return Case.objects.all()
    org_id = getattr(user, "organisation_id", None)
    if org_id is None:
        return Case.objects.none()
    desk = Q(terminal__contractor__city_id=org_id) | Q(terminal__contractor_id=org_id)
    deskless = Q(terminal__isnull=True) & (
        Q(organisation_id=org_id) | Q(organisation__city_id=org_id) | Q(organisation__isnull=True)
    )
    return Case.objects.filter(desk | deskless)


def case_city(case: Case) -> Any:
    """The city a case belongs to, by `visible_cases`'s rule: its desk's (the terminal's
    contractor's city); without a desk, the organisation that opened it as at opening
    (`Case.organisation`, cases 0014: the city itself, or the city a contractor serves), not
    the opener's organisation now, which an admin may have changed since; None for a case
    opened by no organisation (the resident page's system account without a desk)."""
    terminal = case.terminal
    if terminal is not None and terminal.contractor is not None:
        contractor = terminal.contractor
        return contractor if contractor.kind == OrganisationKind.CITY else contractor.city
    organisation = case.organisation
    if organisation is None:
        return None
    return organisation if organisation.kind == OrganisationKind.CITY else organisation.city


def case_of_incident(incident: Any) -> Case | None:
    """The case opened from `incident` (one at most), or None."""
    return Case.objects.filter(incident=incident).first()


def listed_cases(user: Any, *, official: bool) -> QuerySet[Any]:
    """The cases `user`'s list shows, newest first: an official who runs cases those they may
    open (`visible_cases`); desk staff and supervisors the intakes they opened themselves."""
    qs = visible_cases(user) if official else Case.objects.filter(opened_by_id=user.pk)
    return qs.select_related("opened_by", "holder").order_by("-opened_at", "-pk")


def intake_subject(incident: Any) -> dict[str, Any] | None:
    """What a case opened from this incident will be about (`remedy.incident_subject`), for the
    intake page to say before it is opened: the programme's name and the record in masked
    numbers; None when it will be about no record."""
    found = remedy.incident_subject(incident) if incident is not None else None
    if found is None:
        return None
    programme, row = found
    return {"programme": Programme(programme).label, "what": str(row)}


@dataclass(frozen=True)
class Regrant:
    """Where the re-grant of a point case's returned points stands (`regrant_state`):
    `waiting`, the grants returned from the case's link not granted again yet; `regranted`, the
    grants already made again from them; `target`, the resident's own effective link in the
    programme (the one a re-grant goes to), None while they have not linked again; `released`,
    whether a case has re-enabled the link already (replaced: nothing is left to do on it but
    the re-grant)."""

    link: Any
    waiting: list[Any]
    regranted: list[Any]
    target: Any
    released: bool = False

    @property
    def points(self) -> int:
        """The points waiting to be granted again."""
        return sum(int(g.points) for g in self.waiting)

    @property
    def regranted_points(self) -> int:
        return sum(int(g.points) for g in self.regranted)


def regrant_state(case: Any) -> Regrant | None:
    """The re-grant of a point case's returned points (`Regrant`); None for a case with no
    points in madoguchi's ledger: another programme's, a legacy link's (its points were granted
    outside the ledger), or one about no link."""
    link = case.payment_link
    if Programme(case.programme) != Programme.POINTS or link is None:
        return None
    return Regrant(
        link=link,
        waiting=remedy.returned_grants(link),
        regranted=remedy.regranted_grants(link),
        target=remedy.own_link(link),
        released=remedy.link_released(link),
    )
