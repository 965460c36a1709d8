"""A locked card (PIN locked) recorded a new 暗証番号ロック incident each time a desk started with
it again, so one resident read as several incidents in the official's list (a walk of the desk
day, 2026-12-02). One incident per card's locked PIN a day: each repeat is an audit event on
it, the lists say how many times the card met it, and the daily report counts it once."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.incidents.services import incident_pin_blocked
from madoguchi.reports import services as reports
from tests import factories
from tests.benefits.conftest import start_visit
from tests.incidents.conftest import login_at_desk

pytestmark = pytest.mark.django_db

PIN_URL = "/api/v1/incidents/pin-blocked"
CARD = "ab" * 32
OTHER_CARD = "cd" * 32
SEEN_AGAIN = "incidents.pin_lock_seen_again"


def _report(client, request_id, card=CARD, applet="auth"):
    body = {"applet": applet, "request_id": request_id, "cert_fingerprint": card}
    return client.post(PIN_URL, body, content_type="application/json")


def _text(html):
    return unescape(re.sub(r"<[^>]*>", " ", html))


def test_a_locked_card_tried_again_is_one_incident_seen_each_time(client, desk):
    login_at_desk(client, desk)
    first = _report(client, "req-1")
    assert first.status_code == 201, first.content
    incident = first.json()["id"]
    for request_id in ("req-2", "req-2", "req-3"):  # req-2 retried by the page: counted once
        again = _report(
            client, request_id, card=":".join(["AB"] * 32) if request_id == "req-3" else CARD
        )
        assert again.status_code == 200, again.content
        assert again.json()["id"] == incident
    locked = Incident.objects.filter(kind=IncidentKind.PIN_LOCKED)
    assert locked.count() == 1
    seen = AuditEvent.objects.filter(event_name=SEEN_AGAIN, subject_id=str(incident))
    assert seen.count() == 2
    # The card's other PIN, and another card, are locks of their own.
    assert _report(client, "req-4", applet="support").status_code == 201
    assert _report(client, "req-5", card=OTHER_CARD).status_code == 201
    assert locked.count() == 3

    client.force_login(factories.staff(Role.SUPERVISOR))
    for url in (
        reverse("incidents:list") + "?reason=daily_check",
        "/officials/incidents/?reason=daily_check",
    ):
        with translation.override("ja"):
            read = _text(client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode())
        assert read.count("暗証番号がロック") == 3, (url, read)
        assert "同じカードで 3 回" in read, url
    with translation.override("ja"):
        content = reports.build_daily(desk.terminal, timezone.localdate())
    assert content["counts"]["incidents"]["pin_locked"] == 3


def test_a_lock_met_in_a_visit_is_known_by_the_visits_card(trusted, desk):
    """A page that sends no fingerprint (the input-support PIN locked while reading the card in
    a visit): the visit's own card names the lock."""
    start_visit(desk, trusted.card("A"))
    first, created = incident_pin_blocked(desk_session=desk, applet="support", request_id="r-1")
    assert created
    assert first.detail["certificate"]
    again, created = incident_pin_blocked(desk_session=desk, applet="support", request_id="r-2")
    assert not created
    assert again.pk == first.pk
    # Without a fingerprint and without a visit nothing names the card: each is its own.
    assert Incident.objects.filter(kind=IncidentKind.PIN_LOCKED).count() == 1
