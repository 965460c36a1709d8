"""Incidents: PIN lockouts from the desk page, name-check exceptions and close matches,
complaints by hand, and each incident's audit trail."""

import pytest
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.incidents import selectors
from madoguchi.incidents.constants import IncidentKind, Source
from madoguchi.incidents.models import Incident
from tests import factories
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.incidents.conftest import login_at_desk

PIN_URL = "/api/v1/incidents/pin-blocked"


def test_pin_blocked_is_recorded_once_per_agent_request(client, trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    login_at_desk(client, desk)
    body = {"applet": "support", "request_id": "req-7", "cert_fingerprint": "ab" * 32}
    first = client.post(PIN_URL, body, content_type="application/json")
    assert first.status_code == 201, first.content
    again = client.post(PIN_URL, body, content_type="application/json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    incident = Incident.objects.get(kind=IncidentKind.PIN_LOCKED)
    assert incident.reason_code == "input_support"
    assert incident.visit == visit
    assert incident.terminal == desk.terminal
    assert incident.staff == desk.staff
    # No PIN, no tries count, nothing but which applet and which request.
    assert set(incident.detail) == {"request_id", "applet", "certificate", "text"}
    assert set(incident.detail["text"]["params"]) == {"applet"}  # the sentence: the applet only
    assert AuditEvent.objects.filter(
        event_name="incidents.recorded", subject_id=str(incident.pk)
    ).exists()


def test_pin_blocked_needs_an_open_desk_session(client, desk):
    client.force_login(desk.staff)  # signed in, but no desk session in this browser
    response = client.post(PIN_URL, {"applet": "auth"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    # Read on a registered terminal whose sign-in ended (the sweeper, another tab's sign-out),
    # "sign in on a registered terminal" alone said this terminal was not one (a walk of the
    # demo): the sentence says the sign-in ended and to sign in again.
    assert response.json()["message_ja"].startswith(
        "このブラウザでは窓口にサインインしていません（サインアウトしたか、"
    )
    assert "Sign in again on a registered terminal" in response.json()["message"]
    bad = client.post(PIN_URL, {"applet": "pin"}, content_type="application/json")
    assert bad.status_code in (401, 422)
    assert not Incident.objects.exists()


@pytest.mark.usefixtures("providers", "systems")
def test_confirmed_close_match_is_an_incident(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    assert not Incident.objects.filter(kind=IncidentKind.NAME_CLOSE_CONFIRMED).exists()
    commit(desk, c)
    incident = Incident.objects.get(kind=IncidentKind.NAME_CLOSE_CONFIRMED)
    assert incident.reason_code == "close"
    assert incident.detail["what"] == "payment_link"
    assert incident.terminal == desk.terminal


@pytest.mark.usefixtures("providers", "systems")
def test_an_exact_match_is_not_an_incident(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    assert not Incident.objects.filter(
        kind__in=[IncidentKind.NAME_CLOSE_CONFIRMED, IncidentKind.EXCEPTION_USED]
    ).exists()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_exception_used_is_an_incident(trusted, desk, minor_card):
    """A minor's link to the legal representative's account (the documented exception): the
    birth date verified from the card, the handover, the representative's card signing too."""
    from madoguchi.benefits import services as benefits
    from madoguchi.desk import services as desk_services
    from tests import cardkit
    from tests.benefits.conftest import ORIGIN
    from tests.visits import commit_two_cards, verify_basic_four

    c = trusted.card("C")
    visit = start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    desk_services.visit_handover_start(desk_session=desk)
    nonce = benefits.representative_challenge(desk).value
    benefits.representative_authenticate(
        desk,
        cardkit.auth_token(c, ORIGIN, nonce),
        nonce,
        relationship="parent",
        kana="ヤマダ タロウ",
        kana_confirmed=True,
    )
    prepare(desk, **apply_fields(kana="サトウ ショウタ", use_representative_exception=True))
    commit_two_cards(desk, minor_card, c)
    incident = Incident.objects.get(kind=IncidentKind.EXCEPTION_USED)
    assert incident.reason_code == "minor_representative"
    assert incident.visit == visit
    assert incident.detail["name_outcome"] == "no_match"
    assert incident.detail["representative_outcome"] == "match"
    # The stored English sentence says the codes in words.
    assert incident.summary == (
        "A payment account linked under the 'account of a minor's legal representative' "
        "exception (name check: no match)."
    )


def test_complaint_form_and_detail_with_audit_trail(client, desk):
    supervisor = factories.staff(Role.SUPERVISOR)
    client.force_login(supervisor)
    page = client.get(reverse("incidents:complaint"))
    assert page.status_code == 200
    response = client.post(
        reverse("incidents:complaint"),
        {
            "terminal": desk.terminal.pk,
            "reported_by": "来庁者",
            "severity": "high",
            "summary": "待ち時間が長い",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get(kind=IncidentKind.COMPLAINT)
    assert incident.source == Source.MANUAL
    assert incident.recorded_by == supervisor
    assert incident.severity == "high"
    assert incident.terminal == desk.terminal
    detail = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert "待ち時間が長い" in detail
    assert 'data-testid="audit-trail"' in detail
    # The recording, then the detail page's read of it (a read of a record whose subject is no
    # card holder is recorded with the record itself as subject).
    assert [e.event_name for e in selectors.audit_trail(incident)] == [
        "incidents.recorded",
        "identity.record_read",
    ]
    listing = client.get(reverse("incidents:list")).content.decode()
    assert "待ち時間が長い" in listing


def test_desk_staff_record_complaints_but_do_not_browse_incidents(client, desk):
    client.force_login(desk.staff)
    assert client.get(reverse("incidents:complaint")).status_code == 200
    assert client.get(reverse("incidents:list")).status_code == 403


def test_audit_trail_includes_the_visit(trusted, desk):
    from madoguchi.incidents.services import incident_pin_blocked

    visit = start_visit(desk, trusted.card("A"))
    incident, created = incident_pin_blocked(desk_session=desk, applet="auth")
    assert created
    assert incident.visit == visit
    names = [e.event_name for e in selectors.audit_trail(incident)]
    assert "visits.started" in names
    assert "incidents.recorded" in names


@pytest.mark.parametrize(
    "text", ["a\\u0000b", "\\ud800", "x\\u0007"], ids=["nul", "surrogate", "bel"]
)
@pytest.mark.parametrize("field", ["request_id", "cert_fingerprint"])
def test_pin_blocked_with_broken_text_is_refused_naming_the_field(
    client, trusted, desk, field, text
):
    """A NUL or a lone surrogate in the agent's request id was a server error (PostgreSQL
    cannot store either in the incident's JSON): now a 422 that names the field."""
    start_visit(desk, trusted.card("A"))
    login_at_desk(client, desk)
    body = '{"applet": "auth", "' + field + '": "' + text + '"}'  # JSON escapes kept as written
    r = client.post(PIN_URL, body, content_type="application/json")
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "malformed_request"
    assert field in r.json()["message"]
    assert not Incident.objects.exists()


_COLONS = ":".join(["ab"] * 32)  # a fingerprint's longest form, 95 characters


@pytest.mark.parametrize(
    ("field", "limit", "longest"),
    [("request_id", 64, "a" * 64), ("cert_fingerprint", 128, _COLONS)],
)
def test_pin_blocked_with_an_overlong_field_is_refused_and_records_nothing(
    client, trusted, desk, field, limit, longest
):
    """A request id of 100 kB from a signed-in desk was stored in the incident as sent: a field
    longer than any real request id or fingerprint is a 422 naming the field; at the limit it
    is recorded."""
    start_visit(desk, trusted.card("A"))
    login_at_desk(client, desk)
    r = client.post(
        PIN_URL, {"applet": "auth", field: "a" * (limit + 1)}, content_type="application/json"
    )
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "malformed_request"
    assert field in r.json()["message"]
    assert not Incident.objects.exists()
    r = client.post(PIN_URL, {"applet": "auth", field: longest}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert Incident.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_pin_blocked_reports_at_once_record_one_incident(desk):
    """Side doors round 5: the PIN-lock report looked for its request's incident, then
    recorded one, holding nothing in between, so the page's retry sent at the same moment
    (or a script's parallel posts) recorded the same lockout twice. The look and the record are
    now one step under a lock of the terminal's request id."""
    from madoguchi.incidents import services
    from tests.racekit import at_once

    def report():
        return services.incident_pin_blocked(
            desk_session=desk, applet="support", request_id="req-9"
        )[1]

    assert sorted(at_once(services, "incident_record", report, report)) == [False, True]
    assert Incident.objects.filter(kind=IncidentKind.PIN_LOCKED).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("request_id", "123456789012"),
        ("request_id", "<b>id</b>"),
        ("cert_fingerprint", "123456789012"),
        ("cert_fingerprint", "not a fingerprint"),
    ],
)
def test_pin_blocked_keeps_only_a_request_id_and_a_fingerprint_as_the_agent_makes_them(
    client, trusted, desk, field, value
):
    """Side doors round 8: the PIN-lock report stored its request id and fingerprint in the
    incident as sent, twelve digits (an individual number's shape) or markup included. Only the
    agent's shapes are taken (a request id of letters, digits, '-' and '_' with no long number;
    a fingerprint of 64 hexadecimal digits); anything else is a 422 naming the field."""
    start_visit(desk, trusted.card("A"))
    login_at_desk(client, desk)
    r = client.post(PIN_URL, {"applet": "auth", field: value}, content_type="application/json")
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "malformed_request"
    assert field in r.json()["message"]
    assert not Incident.objects.exists()


def test_a_recorded_complaint_opens_its_incident_for_those_who_may_read_it(client, desk):
    """An official who recorded a complaint was sent back to an empty form, with the incident's
    number in a message and no way to it but the day's list; the next step (a case from the
    incident) is on the incident's page. Who may read incidents lands there; desk staff, who may
    not, come back to the form."""
    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    body = {"reported_by": "住民 A 様", "severity": "medium", "summary": "覚えのない紐付け"}
    response = client.post(reverse("incidents:complaint"), body, follow=True)
    incident = Incident.objects.get(kind=IncidentKind.COMPLAINT)
    assert response.redirect_chain[-1][0] == reverse("incidents:detail", args=[incident.pk])
    page = response.content.decode()
    assert f"苦情をインシデント {incident.pk} として記録しました。" in page
    assert f'href="{reverse("cases:new")}?incident={incident.pk}"' in page
    client.force_login(desk.staff)
    body["terminal"] = desk.terminal.pk
    response = client.post(reverse("incidents:complaint"), body)
    assert response["Location"] == reverse("incidents:complaint")
