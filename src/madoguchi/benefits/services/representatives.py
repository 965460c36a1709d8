"""The legal representative, authenticated with their own card in the resident's visit."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Visit
from madoguchi.desk.services import visit_current
from madoguchi.identity import services as identity
from madoguchi.identity.constants import NoncePurpose
from madoguchi.identity.models import Nonce
from madoguchi.terminals.models import DeskSession

from ..constants import (
    RELATIONSHIP_JA,
    KanaSource,
    Relationship,
)
from ..events import (
    BENEFITS_REPRESENTATIVE_AUTHENTICATED,
)
from ..models import (
    VisitRepresentative,
)
from ..readings import certified_readings
from .base import BenefitsRefused
from .names import KANA_LENGTH, kana_refusal, no_letters, resident_is_minor

# --- the legal representative ------------------------------------------------------------------


ADULT_RESIDENT_MESSAGE = _(
    "The resident is not a minor (birth date read from their card). An application by a legal "
    "representative is for a minor here: this installation holds no record of an adult "
    "guardianship (成年後見), so a guardian cannot apply for an adult at this desk. Nothing was "
    "started and no PIN is needed. Refer the guardian to the city's adult guardianship "
    "procedure; the resident may still apply themselves with their own account."
)


def representative_route_check(visit: Visit) -> None:
    """Refuse the representative route for a resident the card shows to be an adult, before
    the handover (and before any representative's PIN): the exception is for a minor, and an
    adult ward's guardianship is recorded nowhere here, so the procedure would refuse it
    (`exception_not_minor`) only after the representative's card and PIN (a walk of the desk
    day, 2026-12-02). A resident whose card was not read yet is left to the procedure's check
    (`resident_birth_date_unread`)."""
    if resident_is_minor(visit) is False:
        raise BenefitsRefused("representative_not_for_adult", ADULT_RESIDENT_MESSAGE)


def representative_challenge(
    desk_session: DeskSession, *, expected_visit: str | None = None
) -> Nonce:
    """A fresh authentication nonce for the representative's own card (after the handover).
    `expected_visit`: the visit the call was made for; another is refused. The nonce is the
    desk session's, bound to no visit: the authentication compares again under the lock."""
    visit = visit_current(desk_session=desk_session)
    desk_services.refuse_unless_expected(visit, expected_visit)
    if visit is None:
        raise desk_services.VisitRefused.of("no_open_visit")
    if visit.handover_at is None:
        raise desk_services.CardsRefused.of("handover_not_started")
    representative_route_check(visit)
    return identity.nonce_issue(purpose=NoncePurpose.AUTHENTICATION, desk_session=desk_session)


def representative_authenticate(
    desk_session: DeskSession,
    token: str,
    nonce: str,
    *,
    relationship: str = Relationship.PARENT,
    kana: str = "",
    kana_confirmed: bool = False,
    expected_visit: str | None = None,
) -> VisitRepresentative:
    """The legal representative authenticates with their own card in the resident's visit.
    `expected_visit`: the visit the call was made for; another is refused before the card's
    nonce is spent and again under the visit's lock, where the second card is bound."""
    visit = visit_current(desk_session=desk_session)
    desk_services.refuse_unless_expected(visit, expected_visit)
    if visit is None:
        raise BenefitsRefused(
            "no_open_visit",
            _("There is no open visit."),
        )
    if relationship not in Relationship.values:
        raise BenefitsRefused("relationship_invalid", _("Unknown relationship."))
    if visit.handover_at is None:
        raise desk_services.CardsRefused.of("handover_not_started")
    cert = identity.authenticate(token=token, nonce_value=nonce, desk_session=desk_session)
    if cert.holder_id == visit.holder_id:
        raise BenefitsRefused(
            "representative_is_resident",
            _("The representative must use their own card, not the resident's."),
        )
    readings = certified_readings()
    reading = readings.reading_for(cert) if readings is not None else None
    if reading:
        rep_kana, source = reading, KanaSource.CERTIFIED
    else:
        rep_kana, source = kana.strip(), KanaSource.RESIDENT_ENTRY
        # Marks only (ー, ・, （）) are no kana either (`names.no_letters`).
        if no_letters(rep_kana) or not kana_confirmed:
            raise BenefitsRefused(
                "representative_kana_required",
                _("The representative's kana name is required and must be confirmed."),
            )
        if len(rep_kana) > KANA_LENGTH:
            # It was cut to 100 characters, and the cut name checked against the account.
            raise BenefitsRefused(
                "representative_kana_too_long",
                _(
                    "The representative's kana name has %(length)s characters; at most "
                    "%(limit)s are taken, and a name cut short would be checked as another "
                    "name. Nothing was stored; type the name again."
                ),
                params={"limit": KANA_LENGTH, "length": len(rep_kana)},
            )
        refused = kana_refusal(rep_kana)
        if refused is not None:
            raise BenefitsRefused(f"representative_kana_{refused[0]}", refused[1])
    with transaction.atomic():
        # The visit's second card from now on (locked; refuses a third card).
        visit = desk_services.visit_companion_set(
            desk_session=desk_session, certificate=cert, expected_visit=expected_visit
        )
        rep = VisitRepresentative.objects.create(
            visit=visit,
            certificate=cert,
            relationship=relationship,
            kana=rep_kana,
            kana_source=source,
            authenticated_at=timezone.now(),
        )
        audit.record(
            BENEFITS_REPRESENTATIVE_AUTHENTICATED,
            actor=desk_session.staff,
            terminal=desk_session.terminal,
            subject=rep,
            payload={
                "visit": visit.reference,
                "certificate": cert.fingerprint,
                "relationship": relationship,
                "relationship_ja": RELATIONSHIP_JA[Relationship(relationship)],
            },
        )
    return rep


def representative_label(visit: Visit) -> str:
    """How the visit page names the visit's second card: the representative and relationship."""
    rep = VisitRepresentative.objects.filter(visit=visit).order_by("-authenticated_at").first()
    if rep is None:
        return ""
    return f"法定代理人（{RELATIONSHIP_JA.get(rep.relationship, rep.relationship)}）"
