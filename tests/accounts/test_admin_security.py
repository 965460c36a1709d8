"""Issue 11 item 1: the admin needs the second factor, cannot change privileges, is audited;
the sign-in page answers every refusal with one message."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEvent
from madoguchi.terminals import services as terminal_services
from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/sign-in/"


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def _operator(superuser=False):
    user = factories.staff(Role.OPERATOR)
    user.is_staff = True
    user.is_superuser = superuser
    user.save()
    return user, factories.totp_device(user)


def test_admin_login_with_the_password_alone_is_refused(client):
    user, _device = _operator(superuser=True)
    # The admin has no password-only form: it sends the browser to the staff sign-in.
    r = client.get("/admin/login/?next=/admin/")
    assert r.status_code == 302
    assert r["Location"].startswith(LOGIN)
    r = client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": factories.PASSWORD, "next": "/admin/"},
    )
    assert "_auth_user_id" not in client.session
    r = client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert r.status_code == 400
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    assert client.get("/officials/").status_code == 302


def test_staff_flag_alone_requires_totp(client):
    """Anyone who may see the admin needs a second factor, whatever the role."""
    user = factories.staff(Role.SUPERVISOR)
    user.is_staff = True
    user.save()
    assert user.requires_totp
    r = client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert r.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_session_signed_in_without_a_second_factor_cannot_open_the_admin(client):
    user, _ = _operator(superuser=True)
    client.force_login(user)  # authenticated, but not verified by a device
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/accounts/user/").status_code == 302


@pytest.mark.parametrize("role", [Role.CITY_OFFICIAL, Role.DESK_STAFF])
def test_signed_in_without_the_admin_role_is_told_so_not_sent_to_sign_in_again(client, role):
    """An official following the README to /admin/ met the sign-in form again, already signed
    in, with nothing saying why; signing in again changed nothing."""
    client.force_login(factories.staff(role))
    for path in ("/admin/", "/admin/accounts/user/"):
        r = client.get(path, follow=True)
        assert r.status_code == 403, r.redirect_chain
        assert "このページを開く権限がありません" in r.content.decode()


def test_admin_with_totp_works_and_its_sign_in_is_audited(client):
    user, device = _operator()
    r = client.post(
        f"{LOGIN}?next=/admin/",
        {
            "username": user.username,
            "password": factories.PASSWORD,
            "otp_token": f"{totp(device.bin_key):06d}",
        },
    )
    assert r.status_code == 302
    assert r["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    signed_in = AuditEvent.objects.filter(event_name="accounts.signed_in", actor_id=str(user.pk))
    assert signed_in.filter(payload__second_factor=True).exists()


def _verified_admin(client, superuser=False):
    user, device = _operator(superuser=superuser)
    factories.sign_in_with_code(client, user, device)
    return user


def test_operator_cannot_make_itself_superuser_or_official_through_the_admin(client):
    user = _verified_admin(client)
    from django.contrib.auth.models import Group

    official = Group.objects.get_or_create(name=Role.CITY_OFFICIAL.value)[0]
    url = reverse("admin:accounts_user_change", args=[user.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    for name in ("is_superuser", "groups", "user_permissions", "is_staff"):
        assert name not in form.fields
    client.post(
        url,
        {
            "username": user.username,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [official.pk],
            "display_name": "x",
            "organisation": user.organisation_id,
        },
    )
    user.refresh_from_db()
    assert not user.is_superuser
    assert not user.has_role(Role.CITY_OFFICIAL)
    # Group permissions (the roles) are not editable in the admin either.
    assert client.get("/admin/auth/group/").status_code == 404


def test_every_admin_change_is_an_audit_event(client):
    user = _verified_admin(client)
    url = reverse("admin:accounts_organisation_add")
    r = client.post(url, {"name": "監査テスト株式会社", "kind": "contractor"})
    assert r.status_code == 302, r.content.decode()[:2000]
    event = AuditEvent.objects.get(event_name="accounts.admin_changed")
    assert event.actor_id == str(user.pk)
    assert event.payload["action"] == "added"
    assert event.payload["object"] == "監査テスト株式会社"
    # Read in words: it read 「管理画面で accounts.organisation 「…」をaddedしました」.
    from madoguchi.audit import selectors

    assert selectors.display(event, "ja").endswith(
        "が管理画面で 組織 「監査テスト株式会社」を追加しました"
    )
    assert selectors.display(event, "en").endswith(
        " added organisation '監査テスト株式会社' in the admin"
    )


def test_an_admin_change_named_by_a_long_number_is_audited_without_it(client):
    """Side doors round 8: an operator's admin change whose record is named by twelve digits (a
    provider or organisation so named) was a server error and rolled back: the audit event
    carried the record's name, and the audit log refuses a 12-digit value. The change is made
    and audited; the event's object name says a long number was withheld. (An organisation's
    name refuses a long number itself since the thirty-sixth session: a payment service's
    name, which does not, is the record so named here.)"""
    _verified_admin(client)
    r = client.post(
        reverse("admin:benefits_provider_add"),
        {"code": "p12", "display_name_ja": "123456789012", "is_active": "on"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    event = AuditEvent.objects.get(event_name="accounts.admin_changed")
    assert event.payload["object"] == "(a long number, not recorded)"
    assert event.payload["action"] == "added"


def test_staff_command_changes_roles_audited_naming_who():
    operator = factories.staff(Role.OPERATOR)
    user = factories.staff(Role.DESK_STAFF)
    call_command(
        "staff", "grant", user.username, "supervisor", "--by", operator.username,
        stdout=io.StringIO(),
    )  # fmt: skip
    call_command(
        "staff", "flag", user.username, "superuser", "on", "--by", operator.username,
        stdout=io.StringIO(),
    )  # fmt: skip
    user = User.objects.get(pk=user.pk)
    assert user.has_role(Role.SUPERVISOR)
    assert user.is_superuser
    events = AuditEvent.objects.filter(event_name="accounts.privileges_changed").order_by("seq")
    assert [e.payload["change"] for e in events] == ["grant supervisor", "superuser on"]
    from madoguchi.audit import selectors

    assert [selectors.display(e, "ja").split(": ", 1)[1] for e in events] == [
        "役割「委託事業者 責任者」を付与",
        "すべての権限（スーパーユーザー）を有効に",
    ]
    assert all(e.payload["by"] == operator.username for e in events)
    assert all(e.actor_id == str(operator.pk) for e in events)
    with pytest.raises(CommandError, match="--by"):
        call_command("staff", "revoke", user.username, "supervisor", "--by", "nobody")


def test_staff_command_refuses_a_by_who_is_not_an_operator():
    """`--by` names who changed the privileges in the audit event: a desk member's own name was
    taken for their own new supervisor role, and an official's. Only an operator (or a
    superuser) is taken now; the refusal says why and nothing changes."""
    desk = factories.staff(Role.DESK_STAFF)
    official = factories.staff(Role.CITY_OFFICIAL)
    for by in (desk, official):
        with pytest.raises(CommandError, match=f"--by: {by.username} is not an operator"):
            call_command(
                "staff", "grant", desk.username, "supervisor", "--by", by.username,
                stdout=io.StringIO(),
            )  # fmt: skip
        with pytest.raises(CommandError, match="is not an operator"):
            call_command(
                "staff", "flag", desk.username, "superuser", "on", "--by", by.username,
                stdout=io.StringIO(),
            )  # fmt: skip
    desk = User.objects.get(pk=desk.pk)
    assert not desk.has_role(Role.SUPERVISOR)
    assert not desk.is_superuser
    assert not AuditEvent.objects.filter(event_name="accounts.privileges_changed").exists()


def test_one_refusal_message_for_password_terminal_and_second_factor(client):
    """Wrong password, right password off-terminal, right password without / with a wrong
    code: the page says the same; the audit log keeps the true reasons."""
    desk_staff = factories.staff(Role.DESK_STAFF)
    official = factories.staff(Role.CITY_OFFICIAL)
    factories.totp_device(official)
    answers = [
        client.post(LOGIN, {"username": desk_staff.username, "password": "wrong"}),
        client.post(LOGIN, {"username": desk_staff.username, "password": factories.PASSWORD}),
        client.post(LOGIN, {"username": official.username, "password": factories.PASSWORD}),
        client.post(
            LOGIN,
            {"username": official.username, "password": factories.PASSWORD, "otp_token": "1"},
        ),
    ]
    messages = {r.context["error"] for r in answers}
    assert len(messages) == 1, messages
    assert {r.status_code for r in answers} == {400}
    reasons = set(
        AuditEvent.objects.filter(
            event_name__in=["accounts.sign_in_failed", "accounts.totp_failed"]
        ).values_list("payload__reason", flat=True)
    )
    assert {"bad_credentials", "terminal_required", "totp_required", "totp_wrong"} <= reasons


def test_terminal_binding_unchanged_for_desk_staff(client):
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post(reverse("terminals:enrol"), {"credential": raw}).status_code == 200
    user = factories.staff(Role.DESK_STAFF)
    r = client.post(LOGIN, {"username": user.username, "password": factories.PASSWORD})
    assert r.status_code == 302


def test_the_admin_shows_nobodys_authenticator_secret(client):
    """Side doors round 4: the admin listed every staff member's TOTP device with its key, its
    otpauth URI and QR code, and could add one to anyone. An operator read a city official's
    secret with a GET (no admin change, so no audit event) and, with a password reset, signed
    in as that official. Authenticators are enrolled with `madoguchi staff totp`, audited."""
    _verified_admin(client, superuser=True)
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    for path in (
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_totp/totpdevice/add/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        f"/admin/otp_totp/totpdevice/{device.pk}/config/",
        f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert device.key not in r.content.decode(), path
    assert "otp_totp" not in client.get("/admin/").content.decode()


def test_the_admin_keeps_a_city_official_in_a_city(client):
    """Side doors round 10: the admin moved a city official into a contractor (a desk company)
    as any member, giving that company's member the city's case steps; `staff add` and
    `staff grant` refuse the same. Refused with the reason, nothing changed."""
    _verified_admin(client)
    official = factories.staff(Role.CITY_OFFICIAL)
    city = official.organisation
    url = reverse("admin:accounts_user_change", args=[official.pk])
    fields = {"username": official.username, "is_active": "on", "display_name": "x"}
    page = client.post(url, {**fields, "organisation": factories.contractor().pk})
    assert page.status_code == 200
    assert "市職員は市に所属します" in page.content.decode()
    official.refresh_from_db()
    assert official.organisation == city
    desk = factories.staff(Role.DESK_STAFF)
    other = factories.contractor()
    r = client.post(
        reverse("admin:accounts_user_change", args=[desk.pk]),
        {
            "username": desk.username,
            "is_active": "on",
            "display_name": "y",
            "organisation": other.pk,
        },
    )
    assert r.status_code == 302  # other members move as before


def test_the_admin_adds_no_record_it_shows_read_only(client):
    """Side doors, round 11: a case, a legacy link and an incident were read-only in the admin
    (no change, no delete) but could be added there, every field empty: the operator's Save
    made a blank legacy link, incident or case outside the services that record them (their
    own audit events, the case's intake, the incident's desk and organisation). Every model
    the admin shows with all its fields read-only now offers no add; the add page is 403 and a
    POST adds nothing."""
    from django.contrib import admin
    from django.test import RequestFactory

    from madoguchi.cases.models import Case, LegacyLink
    from madoguchi.incidents.models import Incident

    user = _verified_admin(client, superuser=True)  # the demo's operator: every permission
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        fields = {f.name for f in model._meta.fields}
        if fields <= set(model_admin.get_readonly_fields(request)):
            assert not model_admin.has_add_permission(request), model._meta.label
    for model in (Case, LegacyLink, Incident):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"_save": "Save"}).status_code == 403, url
        assert not model.objects.exists()
    assert not AuditEvent.objects.filter(event_name="accounts.admin_changed").exists()


def test_the_city_contact_block_is_plain_text(client):
    """Side doors, round 11: the incident report's contact block (問い合わせ先), kept in the
    admin, took a telephone number behind U+202E, printed reversed in the city's published
    report (another number for residents to call), and line breaks. Refused, saying why."""
    from madoguchi.cases.models import CityContact

    _verified_admin(client, superuser=True)
    url = reverse("admin:cases_citycontact_add")
    good = {"city_name": "北市", "department": "市民課", "phone": "06-1234-5678", "fax": ""}
    for field, value in (("phone", "\u202e06-1234-5678"), ("department", "市民課\n窓口")):
        page = client.post(url, {**good, field: value}).content.decode()
        assert "1行の文字だけにしてください" in page, field
    assert not CityContact.objects.exists()
    assert client.post(url, good).status_code == 302
