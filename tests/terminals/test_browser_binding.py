"""Issue 11 item 6: the browser holds a binding secret of its own (hashed, revocable, rotated);
the visit API checks the binding as the pages do."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.terminals import services
from madoguchi.terminals.binding import _SALT
from madoguchi.terminals.constants import TERMINAL_COOKIE
from madoguchi.terminals.models import TerminalBinding
from tests import factories

pytestmark = pytest.mark.django_db
ENROL = "/terminal/enrol/"


def _cookie_value(client: Client) -> str:
    request = RequestFactory().get("/")
    request.COOKIES[TERMINAL_COOKIE] = client.cookies[TERMINAL_COOKIE].value
    return request.get_signed_cookie(TERMINAL_COOKIE, salt=_SALT)


def _enrolled(raw_credential: str) -> Client:
    client = Client()
    assert client.post(ENROL, {"credential": raw_credential}).status_code == 200
    return client


def test_the_agent_credential_never_reaches_the_browser():
    terminal = factories.terminal()
    raw = services.credential_issue(terminal=terminal, actor=None).raw
    client = _enrolled(raw)
    value = _cookie_value(client)
    secret = raw.split("_", 2)[2]
    assert secret not in client.cookies[TERMINAL_COOKIE].value
    assert value.startswith("mdb_")
    assert secret not in value
    binding = TerminalBinding.objects.get(terminal=terminal, revoked_at__isnull=True)
    assert value.split("_", 2)[2] not in binding.secret_hash  # stored hashed
    # The cookie's secret is no terminal credential: the agent API refuses it.
    r = Client().post(
        "/api/v1/agent/events",
        {"kind": "presence"},
        content_type="application/json",
        headers={"authorization": f"Bearer {value}"},
    )
    assert r.status_code == 401


def test_enrolling_again_rotates_the_binding_and_revoking_unbinds():
    terminal = factories.terminal()
    raw = services.credential_issue(terminal=terminal, actor=None).raw
    first = _enrolled(raw)
    assert first.get(ENROL).context["terminal"] == terminal
    second = _enrolled(raw)
    assert first.get(ENROL).context["terminal"] is None  # rotated: the old secret is dead
    assert second.get(ENROL).context["terminal"] == terminal
    assert services.binding_revoke(terminal=terminal, actor=None) == 1
    assert second.get(ENROL).context["terminal"] is None


def test_a_staff_session_cookie_copied_to_another_browser_is_refused_by_the_visit_api():
    terminal = factories.terminal()
    raw = services.credential_issue(terminal=terminal, actor=None).raw
    desk = _enrolled(raw)
    staff = factories.staff(Role.DESK_STAFF)
    r = desk.post(
        reverse("accounts:login"), {"username": staff.username, "password": factories.PASSWORD}
    )
    assert r.status_code == 302
    assert desk.get("/api/v1/visits/current").status_code in (200, 404)
    assert desk.post("/api/v1/visits/auth-challenge").status_code == 200

    other = Client()  # another browser, not bound to any terminal, with the copied cookie
    other.cookies["sessionid"] = desk.cookies["sessionid"].value
    assert other.post("/api/v1/visits/auth-challenge").status_code == 401
    assert other.get("/api/v1/visits/current").status_code == 401
    assert other.get("/desk/").status_code == 302

    elsewhere = _enrolled(services.credential_issue(terminal=factories.terminal(), actor=None).raw)
    elsewhere.cookies["sessionid"] = desk.cookies["sessionid"].value
    assert elsewhere.post("/api/v1/visits/auth-challenge").status_code == 401


def test_the_enrolled_page_leads_on_to_the_staff_sign_in():
    """Enrolled, the page said so and stopped: a newcomer following the README's next step
    (sign in as desk staff) had no way on from it but typing an address."""
    raw = services.credential_issue(terminal=factories.terminal("desk-31"), actor=None).raw
    page = Client().post(ENROL, {"credential": raw}).content.decode()
    assert "このブラウザは端末 desk-31 として登録されました。" in page
    assert (
        f'<a class="btn btn-primary" data-testid="enrolled-sign-in" '
        f'href="{reverse("accounts:login")}">職員のサインインへ進む</a>' in page
    )
    # Not offered before the browser is a terminal.
    assert 'data-testid="enrolled-sign-in"' not in Client().get(ENROL).content.decode()


def test_an_enrolled_browser_back_on_the_enrolment_page_is_led_on_to_the_sign_in():
    """A walk of the README came back to /terminal/enrol/ after enrolling: the page showed only
    the credential form and the demo's buttons, nothing of the terminal it already was and no
    way on to the sign-in (only the answer to the enrolment itself had one)."""
    raw = services.credential_issue(terminal=factories.terminal("desk-32"), actor=None).raw
    browser = _enrolled(raw)
    page = browser.get(ENROL).content.decode()
    assert "このブラウザはすでに端末 desk-32 として登録されています" in page
    assert 'data-testid="enrolled-sign-in"' in page
