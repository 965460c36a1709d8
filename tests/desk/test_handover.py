"""The card handover: the legal representative's own card in the resident's visit.

Without a handover, card removal and another card end the visit (tests/desk/test_visits.py).
After staff started it (an audited step), the reader may hold the resident's card, one second
card, or none for a bounded time; a third card, or no card for too long, still ends the visit.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services
from madoguchi.desk.constants import AgentEventKind, VisitEndReason
from madoguchi.desk.models import Visit
from madoguchi.identity import services as identity
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from tests import cardkit
from tests.visits import ORIGIN, start_visit

pytestmark = pytest.mark.usefixtures("_origin")


@pytest.fixture
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = 6
    settings.VISIT_HANDOVER_SECONDS = 120


def _event(desk, kind, card=None):
    return services.agent_event(
        terminal=desk.terminal,
        kind=kind,
        cert_fingerprint=cardkit.fingerprint(card) if card is not None else None,
    )


def _companion(desk, card):
    nonce = services.auth_challenge(desk_session=desk).value
    cert = identity.authenticate(
        token=cardkit.auth_token(card, ORIGIN, nonce), nonce_value=nonce, desk_session=desk
    )
    with transaction.atomic():
        return services.visit_companion_set(desk_session=desk, certificate=cert)


def test_handover_lets_the_cards_change_hands_and_ends_on_a_third_card(trusted, desk):
    a, b, c = trusted.card("A"), trusted.card("B"), trusted.card("C")
    visit = start_visit(desk, a)
    with pytest.raises(Refusal) as exc:
        _companion(desk, c)
    assert exc.value.code == "handover_not_started"
    services.visit_handover_start(desk_session=desk)
    assert AuditEvent.objects.filter(event_id=3110, payload__visit=visit.reference).exists()
    # The resident's card leaves, the representative's comes: the visit stays open.
    _event(desk, AgentEventKind.REMOVED)
    _event(desk, AgentEventKind.INSERTED, c)
    assert services.visit_current(desk_session=desk) is not None
    with pytest.raises(Refusal) as exc:
        _companion(desk, a)
    assert exc.value.code == "companion_is_resident"
    _companion(desk, c)
    # The resident's card coming back (to sign first) is fine, and so is the representative's.
    _event(desk, AgentEventKind.REMOVED)
    _event(desk, AgentEventKind.INSERTED, a)
    _event(desk, AgentEventKind.PRESENCE, a)
    _event(desk, AgentEventKind.INSERTED, c)
    assert services.visit_current(desk_session=desk) is not None
    # A third card ends it, as it would without a handover.
    ended = _event(desk, AgentEventKind.INSERTED, b)
    assert ended is not None
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.CARD_SWAPPED
    assert Incident.objects.filter(kind="card_swapped", visit=visit).exists()


def test_no_card_for_longer_than_the_handover_allows_ends_the_visit(trusted, desk, settings):
    visit = start_visit(desk, trusted.card("A"))
    services.visit_handover_start(desk_session=desk)
    _event(desk, AgentEventKind.REMOVED)
    Visit.objects.filter(pk=visit.pk).update(
        last_presence_at=timezone.now() - timedelta(seconds=settings.VISIT_HANDOVER_SECONDS - 5)
    )
    assert services.visit_current(desk_session=desk) is not None
    Visit.objects.filter(pk=visit.pk).update(
        last_presence_at=timezone.now() - timedelta(seconds=settings.VISIT_HANDOVER_SECONDS + 1)
    )
    assert services.visit_current(desk_session=desk) is None
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.PRESENCE_LOST


def test_a_second_token_without_a_second_card_is_refused(trusted, desk):
    from tests.visits import sign_completion

    a = trusted.card("A")
    start_visit(desk, a)
    services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 5000}
    )
    ch, token = sign_completion(desk, a)
    with pytest.raises(Refusal) as exc:
        services.completion_commit(
            desk_session=desk, token=token, nonce=ch.nonce.value, second_token=token
        )
    assert exc.value.code == "second_signature_unexpected"
