"""Two cards in one visit, and the card's basic four verified by the server.

- The card handover (`visit_handover_start`): staff say, explicitly and audited, that the resident
  hands the reader to a second person (a legal representative) whose own card then authenticates
  in the same visit (`visit_companion_set`, called by the benefits app). From the handover on, the
  visit accepts exactly two cards on the reader — the resident's and, once authenticated, the
  representative's — and a reader holding neither for `VISIT_HANDOVER_SECONDS`; any third card
  ends the visit (card_swapped), as before (`visits.agent_event`).
- The basic four (`visit_basic_four`): the agent read EF0002 with the input-support PIN and hands
  the page EF0002/EF0003/EF0004 as they are on the card; the server checks EF0003's J-LIS
  signature itself (keys in `CARD_SUPPORT_KEYS`) and keeps the birth date, the sex and the name
  on the visit until it ends. What this does and does not prove: docs/desk.md ("The birth date").
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import ClassVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.card.cvcert import KeyTable, load_key_table
from madoguchi.card.errors import CardError
from madoguchi.card.inputsupport import BasicFour, check_integrity, parse_basic_four
from madoguchi.identity.models import HolderCertificate
from madoguchi.plaintext import bad_character, long_number
from madoguchi.refusals import Text
from madoguchi.terminals.models import DeskSession

from ..events import VISITS_BASIC_FOUR_VERIFIED, VISITS_HANDOVER_STARTED
from ..models import Visit
from .visits import VisitRefused, _require_open


class CardsRefused(VisitRefused):
    """A refused handover, second card or card read."""

    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        **VisitRefused.messages,
        "basic_four_unverifiable": (
            _(
                "The card's basic four cannot be verified: no J-LIS input-support key is "
                "configured (CARD_SUPPORT_KEYS). Nothing was recorded."
            ),
            409,
        ),
        "basic_four_invalid": (
            _(
                "The card's basic four did not pass the integrity check (EF0003 and its J-LIS "
                "signature); they were not accepted."
            ),
            400,
        ),
        "basic_four_after_handover": (
            _(
                "Read the resident's card before the card handover: after it, another card may "
                "be on the reader. Nothing was recorded."
            ),
            409,
        ),
        "handover_not_started": (
            _(
                "Start the card handover first: the representative's card may be placed on the "
                "reader only after staff started the handover."
            ),
            409,
        ),
        "companion_is_resident": (
            _("The representative must use their own card, not the resident's."),
            409,
        ),
        "companion_already_set": (
            _(
                "Another representative's card already authenticated in this visit; a third "
                "card is not accepted."
            ),
            409,
        ),
    }


def support_trust() -> KeyTable | None:
    """The J-LIS input-support keys the server trusts (`CARD_SUPPORT_KEYS`), or None."""
    specs = [s for s in settings.CARD_SUPPORT_KEYS if s]
    return load_key_table(specs) if specs else None


def is_minor_on(born: date, today: date, minor_age: int) -> bool:
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return 0 <= age < minor_age


def visit_basic_four(
    *, desk_session: DeskSession, ef0002: bytes, ef0003: bytes, ef0004: bytes | None
) -> BasicFour:
    """Verify the basic four the agent read (EF0003's SHA-256 and J-LIS signature, EF0004's
    certificate) and keep the birth date, the sex and the name on the open visit (the name is
    then the only `resident_name` its procedures carry). Never EF0001."""
    trusted = support_trust()
    if trusted is None:
        raise CardsRefused.of("basic_four_unverifiable")
    try:
        check_integrity(ef0002, ef0003, ef0004, trusted)
        four = parse_basic_four(ef0002)
    except (CardError, ValueError) as exc:
        raise CardsRefused.of("basic_four_invalid", str(exc)[:200]) from exc
    # The name becomes every procedure's `resident_name` (signed, stored, printed): one that
    # cannot be shown or carries a long number is not taken, even signed.
    name = four.name.strip()[:100]
    if bad_character(name) or long_number(name):
        raise CardsRefused.of("basic_four_invalid", "the name cannot be shown or holds a number")
    with transaction.atomic():
        visit = _require_open(desk_session)
        # Before the handover only the resident's card can be on the reader (another card ends
        # the visit, as the agent reports it); after it, the representative's may be.
        if visit.handover_at is not None:
            raise CardsRefused.of("basic_four_after_handover")
        visit.card_birth_date, visit.card_sex = four.birth_date, four.sex
        visit.card_name = name
        visit.save(update_fields=["card_birth_date", "card_sex", "card_name"])
        audit.record(
            VISITS_BASIC_FOUR_VERIFIED,
            actor=desk_session.staff,
            terminal=visit.terminal,
            subject=visit,
            payload={"visit": visit.reference},  # no attribute itself: the log keeps none
        )
    return four


def visit_handover_start(*, desk_session: DeskSession) -> Visit:
    """Staff start the card handover: the resident's card may leave the reader and one second
    card (the representative's own) may be placed on it, without ending the visit."""
    with transaction.atomic():
        visit = _require_open(desk_session)
        if visit.handover_at is None:
            visit.handover_at = timezone.now()
            visit.last_presence_at = visit.handover_at
            visit.save(update_fields=["handover_at", "last_presence_at"])
            audit.record(
                VISITS_HANDOVER_STARTED,
                actor=desk_session.staff,
                terminal=visit.terminal,
                subject=visit,
                payload={"visit": visit.reference, "certificate": visit.certificate.fingerprint},
            )
    return visit


def visit_companion_set(*, desk_session: DeskSession, certificate: HolderCertificate) -> Visit:
    """Inside the caller's transaction: bind the second card (authenticated just now) to the
    desk session's open visit, locked. Refuses without a handover, the resident's own card and
    a third card."""
    visit = _require_open(desk_session)
    if visit.handover_at is None:
        raise CardsRefused.of("handover_not_started")
    if certificate.holder_id == visit.holder_id:
        raise CardsRefused.of("companion_is_resident")
    if visit.companion_certificate_id not in (None, certificate.pk):
        raise CardsRefused.of("companion_already_set")
    visit.companion_certificate = certificate
    visit.save(update_fields=["companion_certificate"])
    return visit
