import pytest
from django.urls import reverse
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.terminals import binding
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import DeskSession
from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/sign-in/"


@pytest.fixture
def bound_client(client):
    """A browser enrolled as a terminal (the enrolment page sets the signed cookie)."""
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    response = client.post(reverse("terminals:enrol"), {"credential": raw})
    assert response.status_code == 200
    client.terminal = terminal
    return client


def events(name):
    return AuditEvent.objects.filter(event_name=name)


def test_sign_in_page_is_japanese_by_default(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'lang="ja"' in body
    assert "スタッフ" in body  # translated heading


def test_desk_staff_signs_in_on_a_terminal_and_gets_a_desk_session(bound_client):
    user = factories.staff(Role.DESK_STAFF)
    response = bound_client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 302
    session = DeskSession.objects.get(staff=user, closed_at__isnull=True)
    assert session.terminal == bound_client.terminal
    assert events("accounts.signed_in").filter(actor_id=str(user.pk)).exists()


def test_desk_staff_cannot_sign_in_off_terminal(client):
    user = factories.staff(Role.DESK_STAFF)
    response = client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "端末" in response.content.decode()
    assert not DeskSession.objects.exists()
    assert events("accounts.sign_in_failed").filter(payload__reason="terminal_required").exists()


@pytest.mark.parametrize("organisation", ["another contractor", "the city", "none"])
def test_desk_staff_sign_in_only_on_their_own_organisations_terminals(bound_client, organisation):
    """A terminal is registered to the organisation that runs its desk (its supervisor sees the
    desk, its daily report carries the desk's visits): a desk member of another city's contractor
    (or of the city, or of none) signing in on it would serve its residents unseen by their own
    supervisor. Refused, with the reason, no desk session opened."""
    from madoguchi.accounts.constants import OrganisationKind
    from madoguchi.accounts.models import Organisation

    north = Organisation.objects.create(name="北市", kind=OrganisationKind.CITY)
    orgs = {
        "another contractor": Organisation.objects.create(
            name="北窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=north
        ),
        "the city": factories.city(),
        "none": None,
    }
    member = factories.staff(Role.DESK_STAFF)
    member.organisation = orgs[organisation]
    member.save(update_fields=["organisation"])

    response = bound_client.post(
        LOGIN, {"username": member.username, "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    assert "自分の所属する事業者の端末でのみ" in response.content.decode()
    assert not DeskSession.objects.exists()
    assert "_auth_user_id" not in bound_client.session
    assert (
        events("accounts.sign_in_failed")
        .filter(
            payload__reason="terminal_of_another_organisation",
            terminal_id=str(bound_client.terminal.pk),
        )
        .exists()
    )
    # The same member on a terminal of their own organisation signs in.
    if orgs[organisation] is not None:
        own = terminal_services.terminal_register(
            name="kita-01", location="北市役所", contractor=orgs[organisation], actor=None
        )
        raw = terminal_services.credential_issue(terminal=own, actor=None).raw
        bound_client.post(reverse("terminals:enrol"), {"credential": raw})
        response = bound_client.post(
            LOGIN, {"username": member.username, "password": factories.PASSWORD}
        )
        assert response.status_code == 302
        assert DeskSession.objects.get(staff=member, closed_at__isnull=True).terminal == own


def test_wrong_password_is_refused_with_a_reason_and_audited(bound_client):
    user = factories.staff()
    response = bound_client.post(LOGIN, {"username": user.username, "password": "wrong"})
    assert response.status_code == 400
    assert "パスワード" in response.content.decode()
    assert events("accounts.sign_in_failed").filter(payload__username=user.username).exists()
    assert "_auth_user_id" not in bound_client.session


def test_lockout_after_repeated_failures_even_with_the_right_password(bound_client, settings):
    user = factories.staff()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        bound_client.post(LOGIN, {"username": user.username, "password": "wrong"})
    response = bound_client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert response.status_code == 403
    assert "ロック" in response.content.decode()
    assert events("accounts.locked_out").filter(payload__username=user.username).exists()
    assert not DeskSession.objects.filter(staff=user).exists()


def test_city_official_needs_totp(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # django-otp throttles retries; not what this tests
    user = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(user)
    creds = {"username": user.username, "password": factories.PASSWORD}
    assert client.post(LOGIN, creds).status_code == 400  # no code
    assert client.post(LOGIN, {**creds, "otp_token": "000000"}).status_code == 400
    assert events("accounts.totp_failed").exists()
    code = f"{totp(device.bin_key):06d}"
    response = client.post(LOGIN, {**creds, "otp_token": code})
    assert response.status_code == 302
    assert client.session.get("otp_device_id")


def test_official_without_enrolled_device_is_told_to_ask_an_operator(client):
    user = factories.staff(Role.OPERATOR)
    response = client.post(
        LOGIN, {"username": user.username, "password": factories.PASSWORD, "otp_token": "123456"}
    )
    assert response.status_code == 400
    assert events("accounts.sign_in_failed").filter(payload__reason="totp_not_enrolled").exists()


def test_sign_out_closes_the_desk_session_and_is_audited(bound_client):
    user = factories.staff()
    bound_client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    response = bound_client.post("/accounts/sign-out/")
    assert response.status_code == 302
    session = DeskSession.objects.get(staff=user)
    assert session.closed_at is not None
    assert events("accounts.signed_out").filter(actor_id=str(user.pk)).exists()
    # The old session cannot reach the home page any more.
    assert bound_client.get("/").status_code == 302


def test_tampered_terminal_cookie_binds_nothing(client):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.COOKIES["madoguchi_terminal"] = "mdt_abc_def:forged"
    assert binding.current_terminal(request) is None


def test_enrolment_with_a_bad_credential_says_why(client):
    response = client.post(reverse("terminals:enrol"), {"credential": "mdt_x_y"})
    assert response.status_code == 400
    assert "認証情報" in response.content.decode()


def test_an_address_spraying_user_names_is_refused_for_the_minute_before_any_password_check(
    bound_client, settings, clock_held
):
    """The lockout counts per user name: one address could try a password on every user name
    in turn, unlimited. After SIGN_IN_FAILURES_PER_MINUTE failures from one address, the rest
    of the minute is refused with a reason (429), even for a right password."""
    settings.SIGN_IN_FAILURES_PER_MINUTE = 4
    staff = factories.staff()
    for n in range(4):
        r = bound_client.post(LOGIN, {"username": f"nobody-{n}", "password": "guess"})
        assert r.status_code == 400
    r = bound_client.post(LOGIN, {"username": staff.username, "password": factories.PASSWORD})
    assert r.status_code == 429
    assert "1分ほど待ってから" in r.content.decode()
    assert not DeskSession.objects.filter(staff=staff).exists()
    # The user name tried was not charged against its own lockout (no password was checked).
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.filter(username=staff.username).exists()
    refused = events("accounts.sign_in_failed").filter(payload__reason="too_many_attempts")
    assert refused.exists()


def test_second_factor_guesses_are_throttled_per_device(client, clock_held):
    """Side doors round 3 (held): after wrong codes even the right one is refused for a while.
    Django's clock is held (django-otp's throttle reads it): after three failures the wait is 4
    s, which a loaded machine overran between the third guess and the right code (the right
    code was then accepted, a 302, on a fresh clone's run at load 11)."""
    user = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(user)
    creds = {"username": user.username, "password": factories.PASSWORD}
    for _ in range(3):
        assert client.post(LOGIN, {**creds, "otp_token": "000000"}).status_code == 400
    right = client.post(LOGIN, {**creds, "otp_token": f"{totp(device.bin_key):06d}"})
    assert right.status_code == 400
    assert "_auth_user_id" not in client.session


def test_sign_in_gives_a_new_session_and_deactivation_ends_it(bound_client):
    """Side doors round 3 (held): no session fixation; a deactivated account's open browser is
    signed out of the pages and the visit API at its next request."""
    bound_client.get(LOGIN)
    session = bound_client.session
    session["planted"] = 1
    session.save()
    planted = bound_client.cookies["sessionid"].value
    user = factories.staff()
    bound_client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert bound_client.cookies["sessionid"].value != planted
    assert bound_client.get("/desk/").status_code == 200
    user.is_active = False
    user.save()
    assert bound_client.get("/desk/").status_code == 302
    assert bound_client.post("/api/v1/visits/auth-challenge").status_code == 401


def test_a_forged_forwarded_for_header_does_not_reset_the_address_limit(
    client, settings, clock_held
):
    """Side doors round 3 (held): the limit counts the peer's address (REMOTE_ADDR), never a
    client's own X-Forwarded-For or X-Real-IP."""
    settings.SIGN_IN_FAILURES_PER_MINUTE = 4
    for n in range(4):
        forged = {"HTTP_X_FORWARDED_FOR": f"10.0.0.{n}", "HTTP_X_REAL_IP": f"10.0.1.{n}"}
        r = client.post(LOGIN, {"username": f"nobody-{n}", "password": "guess"}, **forged)
        assert r.status_code == 400
    r = client.post(
        LOGIN, {"username": "nobody-9", "password": "guess"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert r.status_code == 429


@pytest.mark.parametrize(
    "typed", ["123456789012", "１２３４ ５６７８ ９０１２", "id-1234-5678-9012"]
)
def test_a_long_number_typed_as_the_user_name_is_refused_and_kept_nowhere(bound_client, typed):
    """Side doors round 8: an individual number typed into the sign-in's name box (twelve
    digits) was a server error, since the refusal's audit line carried the name as typed and
    the audit log refuses a 12-digit value; and the lockout's table (axes) kept it. It is now
    refused as any unknown name (the one message), before the password check, the audit line
    saying a long number was withheld, the lockout's table untouched."""
    from axes.models import AccessAttempt

    response = bound_client.post(LOGIN, {"username": typed, "password": "guess"})
    assert response.status_code == 400
    assert "パスワード" in response.content.decode()
    refused = events("accounts.sign_in_failed").get(payload__reason="bad_credentials")
    assert refused.payload["username"] == "(a long number, not recorded)"
    assert not AccessAttempt.objects.exists()
    assert "_auth_user_id" not in bound_client.session
