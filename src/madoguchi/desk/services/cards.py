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
  on the visit until it ends. The record is bound to the holder it was first verified with
  (`HolderRecord`); another holder's is refused with an incident. What this does and does not
  prove: docs/desk.md ("The birth date").
"""

from __future__ import annotations

import hashlib
import hmac
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
from madoguchi.identity.models import HolderCertificate, HolderRecord
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.plaintext import bad_character, long_number
from madoguchi.refusals import Text
from madoguchi.terminals.models import DeskSession

from .. import procedures as registry
from ..events import VISITS_BASIC_FOUR_VERIFIED, VISITS_HANDOVER_STARTED
from ..models import Visit
from .visits import VisitRefused
from .visits.current import _require_open


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
        "basic_four_other_card": (
            _(
                "These basic four were verified earlier with another resident's card, not the "
                "card authenticated in this visit: they were not accepted, and an incident was "
                "recorded. If the resident's card was reissued, continue without reading it "
                "(the receipt names the resident by the kana) and tell the city's officials: "
                "once they link the card's renewal, its details are read at the next visit."
            ),
            409,
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
    *,
    desk_session: DeskSession,
    ef0002: bytes,
    ef0003: bytes,
    ef0004: bytes | None,
    expected_visit: str | None = None,
) -> BasicFour:
    """Verify the basic four the agent read (EF0003's SHA-256 and J-LIS signature, EF0004's
    certificate) and keep the birth date, the sex and the name on the open visit (the name is
    then the only `resident_name` its procedures carry). Never EF0001. `expected_visit`: the
    visit the call was made for; another is refused under the lock."""
    trusted = support_trust()
    if trusted is None:
        raise CardsRefused.of("basic_four_unverifiable")
    try:
        record = check_integrity(ef0002, ef0003, ef0004, trusted)
        four = parse_basic_four(ef0002)
    except (CardError, ValueError) as exc:
        raise CardsRefused.of("basic_four_invalid", str(exc)[:200]) from exc
    # The name becomes every procedure's `resident_name` (signed, stored, printed): one that
    # cannot be shown or carries a long number is not taken, even signed.
    name = four.name.strip()[:100]
    if bad_character(name) or long_number(name):
        raise CardsRefused.of("basic_four_invalid", "the name cannot be shown or holds a number")
    digest = record_digest(record.attributes_hash)
    with transaction.atomic():
        visit = _require_open(desk_session, expected_visit=expected_visit)
        # Before the handover only the resident's card can be on the reader (another card ends
        # the visit, as the agent reports it); after it, the representative's may be.
        if visit.handover_at is not None:
            raise CardsRefused.of("basic_four_after_handover")
        # The record is bound to the holder it was first verified with (nothing on the card
        # binds it to the authentication certificate): another holder's is a replay.
        HolderRecord.objects.bulk_create(
            [HolderRecord(digest=digest, holder_id=visit.holder_id)], ignore_conflicts=True
        )
        bound = HolderRecord.objects.filter(digest=digest).values_list("holder_id", flat=True)
        other_card = bound.get() != visit.holder_id
        if not other_card:
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
    if other_card:
        # Nothing of the visit was changed; the incident (and its audit event) stands alone.
        summary, text = incident_text.sentence(
            incident_text.BASIC_FOUR_OTHER_CARD, visit=visit.reference
        )
        incident_record(
            kind=IncidentKind.CARD_SWAPPED,
            reason_code="basic_four_other_card",
            severity=Severity.HIGH,
            summary=summary,
            visit=visit,
            terminal=visit.terminal,
            staff=desk_session.staff,
            detail={"visit": visit.reference, "text": text},  # no attribute, no hash
        )
        raise CardsRefused.of("basic_four_other_card")
    return four


def record_digest(attributes_hash: bytes) -> str:
    """The keyed hash a card's basic four are known by (`HolderRecord`): HMAC-SHA256 with the
    identifiers' key over the SHA-256 of EF0002 that EF0003 records (never DF31, the
    individual number's hash)."""
    key = settings.IDENTIFIER_HASH_KEY.encode()
    return hmac.new(key, b"basic-four\x00" + attributes_hash, hashlib.sha256).hexdigest()


def visit_handover_start(*, desk_session: DeskSession, expected_visit: str | None = None) -> Visit:
    """Staff start the card handover: the resident's card may leave the reader and one second
    card (the representative's own) may be placed on it, without ending the visit.
    `expected_visit`: the visit the call was made for; another is refused under the lock."""
    with transaction.atomic():
        visit = _require_open(desk_session, expected_visit=expected_visit)
        if visit.handover_at is None:
            for check in registry.HANDOVER_CHECKS:
                check(visit)
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


def visit_companion_set(
    *,
    desk_session: DeskSession,
    certificate: HolderCertificate,
    expected_visit: str | None = None,
) -> Visit:
    """Inside the caller's transaction: bind the second card (authenticated just now) to the
    desk session's open visit, locked. Refuses without a handover, the resident's own card and
    a third card; with `expected_visit`, another visit than the one the call was made for."""
    visit = _require_open(desk_session, expected_visit=expected_visit)
    if visit.handover_at is None:
        raise CardsRefused.of("handover_not_started")
    if certificate.holder_id == visit.holder_id:
        raise CardsRefused.of("companion_is_resident")
    if visit.companion_certificate_id not in (None, certificate.pk):
        raise CardsRefused.of("companion_already_set")
    visit.companion_certificate = certificate
    visit.save(update_fields=["companion_certificate"])
    return visit
