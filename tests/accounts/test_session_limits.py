"""A staff session ends STAFF_IDLE_SECONDS after its browser's last request and
STAFF_SESSION_SECONDS after its sign-in, however often it was saved in between
(core.middleware.StaffSessionLimitsMiddleware, accounts.services.session_check). The times
are moved back in the stored session instead of moving a clock."""

import time

import pytest
from django.test import Client
from django.urls import reverse

from madoguchi.accounts import services
from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession
from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/sign-in/"


def _official_signed_in(client):
    user = factories.staff(Role.CITY_OFFICIAL)
    factories.sign_in_with_code(client, user, factories.totp_device(user))
    return user


def _move_back(client, key, seconds):
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def test_an_officials_session_ends_after_the_idle_limit_and_says_why(client, settings):
    user = _official_signed_in(client)
    assert client.get("/cases/").status_code == 200
    stolen = client.cookies[settings.SESSION_COOKIE_NAME].value

    _move_back(client, services.SEEN_AT, settings.STAFF_IDLE_SECONDS - 120)
    assert client.get("/cases/").status_code == 200  # a request before the limit: still on
    assert time.time() - client.session[services.SEEN_AT] < 60  # and counted as activity

    _move_back(client, services.SEEN_AT, settings.STAFF_IDLE_SECONDS + 1)
    response = client.get("/cases/?q=1")
    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?lapsed=session_idle&next=")
    page = client.get(response["Location"]).content.decode()
    assert (
        "30分間操作がなかったため、サインアウトしました。もう一度サインインしてください。" in page
    )
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(event_name="accounts.session_lapsed")
    assert event.actor_id == str(user.pk)
    assert event.payload["limit"] == "session_idle"

    # The cookie copied before the limit opens nothing either.
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = stolen
    assert other.get("/cases/")["Location"].startswith(LOGIN)


def test_a_desk_session_kept_busy_ends_at_the_limit_since_sign_in(client, settings):
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post(reverse("terminals:enrol"), {"credential": raw}).status_code == 200
    user = factories.staff(Role.DESK_STAFF)
    client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert client.get("/desk/").status_code == 200

    # Busy all day: the last request a moment ago, the sign-in just over the limit ago.
    _move_back(client, services.SIGNED_IN_AT, settings.STAFF_SESSION_SECONDS + 1)
    response = client.get("/api/v1/visits/current")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "session_expired"
    assert body["message"] == (
        "You were signed out because you signed in more than 8 hours ago. Sign in again."
    )
    assert "8時間" in body["message_ja"]
    desk = DeskSession.objects.get(staff=user)
    assert desk.closed_at is not None
    assert desk.close_reason == DeskSessionCloseReason.EXPIRED
    assert client.get("/desk/").status_code == 302


def test_the_sign_in_page_names_only_a_known_limit(client):
    page = client.get(f"{LOGIN}?lapsed=<script>").content.decode()
    assert "<script>" not in page
    assert 'data-testid="sign-in-notice"' not in page


@pytest.mark.parametrize(
    ("seconds", "en", "ja"),
    [
        (20, "no request for 20 seconds.", "20秒間操作がなかった"),
        (60, "no request for 1 minute.", "1分間操作がなかった"),
        (1800, "no request for 30 minutes.", "30分間操作がなかった"),
    ],
)
def test_the_idle_sentence_says_the_limit_as_set(settings, seconds, en, ja):
    """A 20-second limit read "no request for 1 minutes" (round 19)."""
    settings.STAFF_IDLE_SECONDS = seconds
    refused = services.SessionLapsed.lapse("session_idle")
    assert en in refused.message_en
    assert ja in refused.message_ja
