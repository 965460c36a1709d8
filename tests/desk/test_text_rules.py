"""Issue 11 item 10: text that cannot be signed is refused at prepare, with a field error."""

import json

import pytest
from django.urls import reverse

from madoguchi.desk import services
from madoguchi.desk.models import Procedure
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import DeskSession
from tests import cardkit, checklistkit, factories

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture
def staff_client(client, db, settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    staff = factories.staff()
    r = client.post(
        reverse("accounts:login"), {"username": staff.username, "password": factories.PASSWORD}
    )
    assert r.status_code == 302
    client.desk = DeskSession.objects.get(staff=staff, closed_at__isnull=True)
    return client


def _start(client, card):
    nonce = services.auth_challenge(desk_session=client.desk).value
    return services.visit_start(
        desk_session=client.desk, token=cardkit.auth_token(card, ORIGIN, nonce), nonce=nonce
    )


def test_api_refuses_a_lone_surrogate_at_prepare_naming_the_field(trusted, staff_client):
    visit = _start(staff_client, trusted.card("A"))
    # JSON can carry an escaped lone surrogate; Python decodes it into the str.
    body = '{"kind": "test_link", "fields": {"account": "PAY-\\ud800-1", "points": 5}}'
    r = staff_client.post(
        "/api/v1/visits/current/procedures", body, content_type="application/json"
    )
    assert r.status_code == 400, r.content
    data = r.json()
    assert data["code"] == "text_not_allowed"
    assert "account" in data["fields"]
    assert "surrogate" in data["fields"]["account"]
    assert "Nothing was stored" in data["message"]
    assert not Procedure.objects.filter(visit=visit).exists()
    # The visit is not stuck: a clean procedure can still be prepared and challenged.
    services.procedure_prepare(
        desk_session=staff_client.desk, kind="test_link", fields={"account": "PAY-1", "points": 5}
    )
    checklistkit.tick_before(staff_client.desk)
    assert services.completion_challenge(desk_session=staff_client.desk).transaction


def test_api_refuses_control_characters_in_nested_fields(trusted, staff_client):
    _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/api/v1/visits/current/procedures",
        json.dumps({"kind": "test_link", "fields": {"account": "PAY\u202e\u0007", "points": 1}}),
        content_type="application/json",
    )
    assert r.status_code == 400
    assert "U+0007" in r.json()["fields"]["account"]


def test_page_shows_a_field_error_in_japanese_for_a_control_character(trusted, staff_client):
    visit = _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/desk/visit/procedures/test_link/",
        {"visit": visit.reference, "account": "PAY\x01A", "points": "9"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "使えない文字" in html
    assert r.context["form"].errors.get("account")
    # The message names the field by its label on the page, not by its code.
    label = str(r.context["form"].fields["account"].label)
    assert f"含まれている欄があります: {label}。" in html
    assert ": account。" not in html
    assert not Procedure.objects.filter(visit=visit).exists()


def test_api_refuses_a_bidirectional_override_that_reorders_what_is_signed(trusted, staff_client):
    """U+202E (a format character, not a control one) was accepted: "PAY-\\u202e4321" shows
    as "PAY-1234" on the PIN pad and the receipt while another account is signed."""
    visit = _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        "/api/v1/visits/current/procedures",
        json.dumps({"kind": "test_link", "fields": {"account": "PAY-\u202e4321", "points": 1}}),
        content_type="application/json",
    )
    assert r.status_code == 400, r.content
    assert "U+202E" in r.json()["fields"]["account"]
    assert not Procedure.objects.filter(visit=visit).exists()
