"""Opening a case with its intake entry, and a further report added to an open case."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.plaintext import blank

from .. import remedy, text
from ..constants import (
    REGISTRATION_KEY,
    CaseStatus,
    Channel,
    DatePrecision,
    EntryKind,
    Party,
    Programme,
)
from ..events import CASES_OPENED
from ..models import Case, LegacyLink, TimelineEntry
from .access import CaseRefused, _require_can_open, incident_has_case
from .transitions import _check_date, _step_recorded

# A case's title when the intake gives none, by what the link was made for.
INTAKE_TITLES = {
    Programme.POINTS: "支援窓口におけるマイナポイントの誤付与の申し出",
    Programme.PUBLIC_FUND: "支援窓口における公金受取口座の誤登録の申し出",
    Programme.HEALTH_INSURANCE: "支援窓口における健康保険証利用登録の誤りの申し出",
}
INTAKE_TITLE_TEXTS = {
    Programme.POINTS: text.INTAKE_TITLE_POINTS,
    Programme.PUBLIC_FUND: text.INTAKE_TITLE_PUBLIC_FUND,
    Programme.HEALTH_INSURANCE: text.INTAKE_TITLE_HEALTH_INSURANCE,
}


def case_open(
    *,
    actor: User,
    title: str,
    resident_label: str,
    reported_by: str,
    summary: str,
    event_date: date | None = None,
    date_precision: DatePrecision | str = DatePrecision.DAY,
    channel: Channel | str = Channel.IN_PERSON,
    desk_location: str = "",
    terminal: Any = None,
    holder: Any = None,
    payment_link: Any = None,
    legacy_link: LegacyLink | None = None,
    other_resident_label: str = "",
    programme: Programme | str = Programme.POINTS,
    registration: Any = None,
    incident: Any = None,
    texts: dict[str, Any] | None = None,
    party: Party | str | None = None,
) -> Case:
    """Open a case with its intake entry: who reported, what they said. ``programme``: what
    the link was made for (the incident report's wording follows it). ``registration``: the
    public-fund account or insurance registration of ``holder`` the case is about, when the
    report names one (a resident's "this was not me" on it): kept in the intake entry, so the
    case shows it and its steps act on it, not on the resident's latest. ``incident``: the
    incident it is opened from; an incident has one case, a second is refused
    (`incident_has_case`), two at once included (the unique column decides). ``texts``: the
    language-neutral forms (`cases.text`) of what the system wrote from structured data, by
    key (``title``, ``resident_label``, ``reported_by``, ``summary``, ``opened_by``), kept beside the stored
    Japanese for pages in another language; a title left empty gets its programme's. ``party``:
    who reported, by default the resident, or "other" for a system's report (an incident, the
    forensic scan); the resident's own page, a system channel too, says the resident."""
    _require_can_open(actor)
    if incident is not None and not any((holder, payment_link, legacy_link, registration)):
        # Opened from an incident of a resident's visit: the case is about what that visit
        # committed (the record the incident names, else its first), and its resident's.
        subject = remedy.incident_subject(incident)
        if subject is not None:
            programme, row = subject
            holder = row.holder
            if programme == Programme.POINTS:
                payment_link = row
            else:
                registration = row
    if blank(summary) or blank(reported_by):
        raise CaseRefused(
            "intake_incomplete",
            _("Say who reported and what they said."),
        )
    event_date, precision = _check_date(event_date, date_precision)
    with transaction.atomic():
        if incident is not None:
            earlier = Case.objects.filter(incident=incident).first()
            if earlier is not None:
                raise incident_has_case(earlier)
        texts = dict(texts or {})
        if not title:
            texts["title"] = text.neutral(INTAKE_TITLE_TEXTS[Programme(programme)])
        try:
            case = _new_case(
                title=title or INTAKE_TITLES[Programme(programme)],
                texts={k: texts[k] for k in ("title", "resident_label", "opened_by") if k in texts},
                resident_label=resident_label,
                other_resident_label=other_resident_label,
                desk_location=desk_location,
                terminal=terminal,
                holder=holder if holder is not None else getattr(payment_link, "holder", None),
                payment_link=payment_link,
                legacy_link=legacy_link,
                programme=Programme(programme),
                opened_by=actor,
                # The city of a case without a desk, fixed now (`selectors.visible_cases`).
                organisation=actor.organisation,
                incident=incident,
            )
        except IntegrityError:
            if incident is None:
                raise
            # Opened at the same moment from the same incident (a second click, another
            # official): the first one's case stands.
            raise incident_has_case(Case.objects.get(incident=incident)) from None
        TimelineEntry.objects.create(
            case=case,
            seq=1,
            kind=EntryKind.INTAKE,
            status=CaseStatus.INTAKE,
            event_date=event_date,
            date_precision=precision,
            # A system's report (an incident, the forensic scan) is not a resident's.
            party=party
            if party is not None
            else (Party.OTHER if str(channel) == Channel.SYSTEM else Party.RESIDENT),
            party_label=reported_by,
            channel=str(channel),
            summary=summary,
            detail={
                **_entry_text(
                    summary=texts.get("summary"),
                    party_label=texts.get("reported_by"),
                    actor=texts.get("opened_by"),
                ),
                **_registration_named(case, registration),
            },
            actor=actor,
        )
        audit.record(CASES_OPENED, actor=actor, subject=case, payload={"case": case.reference})
    return case


def _registration_named(case: Case, registration: Any) -> dict[str, Any]:
    """The intake detail naming the registration the case is about, for a public-fund or
    insurance case of that registration's resident, or of the legal representative it was
    made into the own account of for a minor (their own "this was not me" on it: the case is
    theirs, about the minor's account; `remedy.reported_by_them`) ({} when none is named)."""
    key = REGISTRATION_KEY.get(Programme(case.programme))
    if registration is None or key is None:
        return {}
    if not remedy.reported_by_them(registration, case.holder_id) or not remedy.is_registration_of(
        registration, str(case.programme)
    ):
        raise ValueError("the registration named is not of the case's programme and resident")
    return {key: registration.pk}


def _entry_text(**forms: Any) -> dict[str, Any]:
    """An entry's detail keeping the neutral forms given (`cases.text`), or none."""
    kept = {key: form for key, form in forms.items() if form}
    return {"text": kept} if kept else {}


def _new_case(**fields: Any) -> Case:
    """The case row, in a savepoint of its own (a second case of one incident fails here)."""
    with transaction.atomic():
        return Case.objects.create(**fields)


def case_report_added(
    case: Case,
    *,
    actor: User,
    reported_by: str,
    summary: str,
    detail: dict[str, Any],
    texts: dict[str, Any] | None = None,
) -> TimelineEntry:
    """A further report of the event a case is about (the resident's page: "this was not me"
    on another record of the same visit), appended to that case instead of opening a second
    one. Recorded as a note from the reporter that leaves the status as it is, in whatever
    stage short of closed (an intake too: the table's notes start with the investigation, but
    a report is not an official's step); the caller may open cases (`can_open`)."""
    _require_can_open(actor)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        last = locked.timeline.order_by("-seq").first()
        current = CaseStatus(last.status) if last else CaseStatus.INTAKE
        if current == CaseStatus.CLOSED:
            raise CaseRefused(
                "transition_not_allowed",
                _("“%(step)s” is not allowed while the case is “%(status)s”."),
                params={"step": EntryKind.NOTE.label, "status": current.label},
            )
        entry = TimelineEntry.objects.create(
            case=locked,
            seq=(last.seq + 1) if last else 1,
            kind=EntryKind.NOTE,
            status=current,
            event_date=timezone.localdate(),
            party=Party.RESIDENT,
            party_label=reported_by,
            channel=Channel.SYSTEM,
            summary=summary,
            detail={
                **detail,
                **_entry_text(
                    summary=(texts or {}).get("summary"),
                    party_label=(texts or {}).get("reported_by"),
                    actor=(texts or {}).get("opened_by"),
                ),
            },
            actor=actor,
        )
        _step_recorded(locked, entry, actor=actor, before=current)
    return entry
