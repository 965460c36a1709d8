"""A staff session lasts only as long as the second factor it was signed in with, over real
HTTP (side doors, round 7): an authenticator replaced with `madoguchi staff totp --replace`
(a lost phone) ends the sessions its codes opened, and a member given a role that signs in
with an authenticator while signed in without one reads no official's page with that
session."""

import httpx
import pytest
from django.core.management import call_command
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from tests import factories

LOGIN = "/accounts/sign-in/"


@pytest.fixture
def server(live_server, settings):
    settings.MADOGUCHI_ORIGIN = live_server.url
    settings.SECURE_SSL_REDIRECT = False
    return live_server.url


def _browser(server):
    return httpx.Client(base_url=server, timeout=30, follow_redirects=False)


def _sign_in(http, server, user, code=""):
    return factories.sign_in_over_http(http, user, code)


def test_replacing_an_authenticator_ends_the_sessions_its_codes_opened(server, capsys):
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    with _browser(server) as thief:
        assert _sign_in(thief, server, official, f"{totp(device.bin_key):06d}").status_code == 302
        assert thief.get("/cases/").status_code == 200

        # The phone is reported lost: the operator enrols the official's new one.
        call_command("staff", "totp", official.username, "--replace")
        capsys.readouterr()

        response = thief.get("/cases/")
        assert response.status_code == 302, "the old authenticator's session still reads cases"
        assert response.headers["Location"].startswith(f"{LOGIN}?lapsed=second_factor")
        page = thief.get(response.headers["Location"]).text
        assert "認証アプリ" in page
        assert "もう一度サインインしてください" in page
        # Ended, not only refused: its cookie opens nothing afterwards either.
        assert thief.get("/scans/").headers["Location"].startswith(LOGIN)
        assert thief.get("/officials/").headers["Location"].startswith(LOGIN)
    event = AuditEvent.objects.get(event_name="accounts.session_lapsed")
    assert event.actor_id == str(official.pk)
    assert event.payload["limit"] == "second_factor"


def test_a_role_that_needs_an_authenticator_is_not_read_with_a_session_signed_in_without(
    server, capsys
):
    operator = factories.staff(Role.OPERATOR)
    supervisor = factories.staff(Role.SUPERVISOR)  # signs in with a password only
    # A member of the city (a city official belongs to a city, not to its desk contractor).
    supervisor.organisation = factories.city()
    supervisor.save(update_fields=["organisation"])
    with _browser(server) as http:
        assert _sign_in(http, server, supervisor).status_code == 302
        assert http.get("/officials/").status_code == 200
        assert http.get("/scans/").status_code == 403  # a city official's page

        call_command(
            "staff", "grant", supervisor.username, "city_official", "--by", operator.username
        )
        capsys.readouterr()

        response = http.get("/scans/")
        assert response.status_code == 302, "an official's page read without a second factor"
        assert response.headers["Location"].startswith(f"{LOGIN}?lapsed=second_factor")
        for path in ("/cases/", "/officials/"):
            assert http.get(path).headers["Location"].startswith(LOGIN)
        assert _sign_in(http, server, supervisor).status_code != 302  # a code is asked now


def test_a_session_signed_in_with_the_current_authenticator_goes_on(server, capsys):
    official = factories.staff(Role.CITY_OFFICIAL)
    factories.totp_device(official)
    call_command("staff", "totp", official.username, "--replace")
    capsys.readouterr()
    device = official.totpdevice_set.get()
    with _browser(server) as http:
        assert _sign_in(http, server, official, f"{totp(device.bin_key):06d}").status_code == 302
        assert http.get("/cases/").status_code == 200
        assert http.get("/scans/").status_code == 200
    assert not AuditEvent.objects.filter(event_name="accounts.session_lapsed").exists()
