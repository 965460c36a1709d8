"""The shell's doors to staff accounts: Django's `createsuperuser` and `changepassword` are
refused from the command line (they changed accounts with no audit event), `madoguchi staff
password` sets a member's password, audited, and an operator made as the README makes one keeps
the admin's contact block without being a superuser."""

from __future__ import annotations

import io

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/sign-in/"
NEW = "a-brand-new-passphrase-9"


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def run_cli(name: str, *args: str) -> tuple[int, str]:
    """The command `madoguchi NAME` finds, run as at a shell (`_called_from_command_line`;
    `run_from_argv` itself would also close the test's database connection)."""
    command = load_command_class(get_commands()[name], name)
    command._called_from_command_line = True
    err = io.StringIO()
    try:
        call_command(command, *args, stdout=io.StringIO(), stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, err.getvalue()


def test_createsuperuser_at_the_shell_makes_nobody_and_names_the_audited_way(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Xyzzy-12345-long")
    before = AuditEvent.objects.count()
    code, err = run_cli("createsuperuser", "--noinput", "--username", "root9", "--email", "r@x.jp")
    assert code == 1
    assert not User.objects.filter(username="root9").exists()
    assert "Nothing was created" in err
    assert "madoguchi staff add NAME --role operator" in err
    assert "Traceback" not in err
    assert AuditEvent.objects.count() == before


def test_changepassword_at_the_shell_changes_nothing_and_names_staff_password():
    user = factories.staff()
    code, err = run_cli("changepassword", user.username)
    assert code == 1
    user.refresh_from_db()
    assert user.check_password(factories.PASSWORD)
    assert "madoguchi staff password NAME --by OPERATOR" in err
    assert "Traceback" not in err


def test_the_commands_called_from_code_are_djangos():
    """Only the shell is refused: code (a library, Django's own tooling) calls Django's."""
    call_command("createsuperuser", "--noinput", "--username", "root8", "--email", "r@x.jp")
    assert User.objects.get(username="root8").is_superuser


def _operator() -> User:
    return factories.staff(Role.OPERATOR)


def _set(username: str, *extra: str, stdin: str = NEW + "\n", monkeypatch=None) -> str:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command(
        "staff", "password", username, *extra, "--password-stdin", stdout=out, stderr=io.StringIO()
    )
    return out.getvalue()


def test_staff_password_sets_it_audited_with_who_never_the_password(monkeypatch):
    member = factories.staff()
    operator = _operator()
    said = _set(member.username, "--by", operator.username, monkeypatch=monkeypatch)
    member.refresh_from_db()
    assert member.check_password(NEW)
    assert not member.check_password(factories.PASSWORD)
    assert f"{member.username}: password set (by {operator.username}, audited)" in said
    event = AuditEvent.objects.get(event_name="accounts.password_set")
    assert event.actor_id == str(operator.pk)
    assert event.payload["username"] == member.username
    assert event.payload["by"] == operator.username
    assert event.payload["os_user"]
    assert NEW not in str(event.payload)
    assert member.password not in str(event.payload)


def test_staff_password_asked_twice_at_the_prompt(monkeypatch):
    import getpass

    member = factories.staff()
    answers = iter([NEW, NEW])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    call_command(
        "staff", "password", member.username, "--by", _operator().username, stdout=io.StringIO()
    )
    member.refresh_from_db()
    assert member.check_password(NEW)


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("by a desk member", "is not an operator"),
        ("by nobody", "no active staff member"),
        ("an inactive member", "is not active"),
        ("a short password", "Password refused, nothing was changed"),
        ("no password", "No password on standard input, nothing was changed"),
        ("no such member", "No user named"),
    ],
)
def test_staff_password_refusals_change_nothing_and_record_nothing(case, said, monkeypatch):
    member = factories.staff()
    by = _operator().username
    name = member.username
    stdin = NEW + "\n"
    if case == "by a desk member":
        by = factories.staff().username
    elif case == "by nobody":
        by = "nobody-here"
    elif case == "an inactive member":
        member.is_active = False
        member.save()
    elif case == "a short password":
        stdin = "short\n"
    elif case == "no password":
        stdin = ""
    elif case == "no such member":
        name = "nobody-here"
    with pytest.raises(CommandError, match=said):
        _set(name, "--by", by, stdin=stdin, monkeypatch=monkeypatch)
    member.refresh_from_db()
    assert member.check_password(factories.PASSWORD)
    assert not AuditEvent.objects.filter(event_name="accounts.password_set").exists()


def test_the_members_open_sign_in_ends_with_the_new_password(client, monkeypatch):
    member = factories.staff(Role.SUPERVISOR)
    client.force_login(member)
    assert client.get(reverse("reports:index")).status_code == 200
    _set(member.username, "--by", _operator().username, monkeypatch=monkeypatch)
    r = client.get(reverse("reports:index"))
    assert r.status_code == 302
    assert r["Location"].startswith(LOGIN)


def test_staff_password_lifts_the_lockout_of_the_member_who_asked(client, settings, monkeypatch):
    """The reason a member asks for a new password is mostly a lockout after failed tries:
    the new password signs in at once, not after the cool-off."""
    member = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(member)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": member.username, "password": "wrong"})
    creds = {"username": member.username, "otp_token": f"{totp(device.bin_key):06d}"}
    assert client.post(LOGIN, {**creds, "password": factories.PASSWORD}).status_code == 403
    said = _set(member.username, "--by", _operator().username, monkeypatch=monkeypatch)
    assert "lockout after failed sign-ins is lifted" in said
    assert not AccessAttempt.objects.filter(username=member.username).exists()
    event = AuditEvent.objects.get(event_name="accounts.password_set")
    assert event.payload["lockout_cleared"] >= 1
    assert client.post(LOGIN, {**creds, "password": NEW}).status_code == 302


def test_an_operator_made_as_the_readme_makes_one_keeps_the_contact_block(client):
    """README, Setting up a city: the operator (role, authenticator, admin access; no
    superuser) keeps the payment providers and the report's contact block in the admin. The
    role had no permission on the contact block: only a superuser could open it."""
    operator = _operator()
    device = factories.totp_device(operator)
    call_command(
        "staff",
        "flag",
        operator.username,
        "staff",
        "on",
        "--by",
        operator.username,
        stdout=io.StringIO(),
    )
    operator.refresh_from_db()
    assert not operator.is_superuser
    factories.sign_in_with_code(client, operator, device)
    for path in ("/admin/cases/citycontact/", "/admin/cases/citycontact/add/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/benefits/provider/").status_code == 200
    r = client.post(
        "/admin/cases/citycontact/add/",
        {
            "city": operator.organisation.pk,  # their own city's (side doors, round 20)
            "city_name": "テスト市",
            "department": "市民課",
            "phone": "072-000-0000",
            "fax": "",
        },
    )
    assert r.status_code == 302
    from madoguchi.cases.models import CityContact

    assert CityContact.objects.filter(department="市民課").exists()


def _locked_out(client, settings, role=Role.CITY_OFFICIAL):
    member = factories.staff(role)
    device = factories.totp_device(member)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": member.username, "password": "wrong"})
    creds = {
        "username": member.username,
        "password": factories.PASSWORD,
        "otp_token": f"{totp(device.bin_key):06d}",
    }
    assert client.post(LOGIN, creds).status_code == 403
    return member, creds


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("axes_reset", []),
        ("axes_reset_username", ["USER"]),
        ("axes_reset_ip", ["127.0.0.1"]),
        ("axes_reset_ip_username", ["127.0.0.1", "USER"]),
    ],
)
def test_axes_lockout_resets_at_the_shell_lift_nothing_and_name_staff_unlock(
    client, settings, name, args
):
    member, creds = _locked_out(client, settings)
    code, err = run_cli(name, *[member.username if a == "USER" else a for a in args])
    assert code == 1
    assert "madoguchi staff unlock NAME --by OPERATOR" in err
    assert AccessAttempt.objects.filter(username=member.username).exists()
    assert client.post(LOGIN, creds).status_code == 403


def test_staff_unlock_lifts_the_lockout_audited(client, settings):
    member, creds = _locked_out(client, settings)
    operator = _operator()
    out = io.StringIO()
    call_command("staff", "unlock", member.username, "--by", operator.username, stdout=out)
    assert "the lockout after failed sign-ins is lifted" in out.getvalue()
    event = AuditEvent.objects.get(event_name="accounts.lockout_lifted")
    assert event.actor_id == str(operator.pk)
    assert event.payload["username"] == member.username
    assert event.payload["attempts"] >= 1
    assert event.payload["os_user"]
    assert client.post(LOGIN, creds).status_code == 302
    # Nothing to lift: said, and nothing recorded.
    out = io.StringIO()
    call_command("staff", "unlock", member.username, "--by", operator.username, stdout=out)
    assert "has no failed sign-ins on record; nothing was changed" in out.getvalue()
    assert AuditEvent.objects.filter(event_name="accounts.lockout_lifted").count() == 1


def test_staff_unlock_by_a_member_who_is_not_an_operator_is_refused(client, settings):
    member, creds = _locked_out(client, settings)
    with pytest.raises(CommandError, match="is not an operator"):
        call_command("staff", "unlock", member.username, "--by", factories.staff().username)
    assert client.post(LOGIN, creds).status_code == 403
    assert not AuditEvent.objects.filter(event_name="accounts.lockout_lifted").exists()


def test_a_members_own_password_changed_in_the_admin_is_audited(client, settings):
    """The admin's 「パスワードの変更」 changed the signed-in operator's own password with no
    audit event (its form for another member's password was audited, as an admin change)."""
    operator = _operator()
    operator.is_staff = True
    operator.save()
    factories.sign_in_with_code(client, operator, factories.totp_device(operator))
    r = client.post(
        "/admin/password_change/",
        {"old_password": factories.PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert r.status_code == 302
    operator.refresh_from_db()
    assert operator.check_password(NEW)
    event = AuditEvent.objects.get(event_name="accounts.password_set")
    assert event.actor_id == str(operator.pk)
    assert event.payload == {"username": operator.username, "by": operator.username, "own": True}
    # A refused change (the old password wrong) changes nothing and records nothing.
    r = client.post(
        "/admin/password_change/",
        {"old_password": "wrong", "new_password1": NEW + "x", "new_password2": NEW + "x"},
    )
    assert r.status_code == 200
    assert AuditEvent.objects.filter(event_name="accounts.password_set").count() == 1


def test_a_password_set_in_the_admin_lifts_the_members_lockout(client, settings):
    """The admin's form for another member's password (an admin change, audited) left the
    lockout on their name: the new password was refused until the cool-off, where
    `staff password` lifts it."""
    member, creds = _locked_out(client, settings)
    operator = _operator()
    operator.is_staff = True
    operator.save()
    admin = Client()
    factories.sign_in_with_code(admin, operator, factories.totp_device(operator))
    r = admin.post(
        f"/admin/accounts/user/{member.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
        follow=True,
    )
    assert r.status_code == 200
    assert "サインインに失敗した後のロックも解除しました" in r.content.decode()
    assert not AccessAttempt.objects.filter(username=member.username).exists()
    event = AuditEvent.objects.get(event_name="accounts.lockout_lifted")
    assert event.actor_id == str(operator.pk)
    assert event.payload["username"] == member.username
    assert event.payload["attempts"] >= 1
    assert client.post(LOGIN, {**creds, "password": NEW}).status_code == 302
    # No lockout to lift: the password is set, nothing more recorded or said.
    r = admin.post(
        f"/admin/accounts/user/{member.pk}/password/",
        {"password1": NEW + "2", "password2": NEW + "2", "usable_password": "true"},
        follow=True,
    )
    assert "ロックも解除" not in r.content.decode()
    assert AuditEvent.objects.filter(event_name="accounts.lockout_lifted").count() == 1


def test_a_member_who_left_is_closed_at_the_shell_audited(client):
    """The shell could add members but not close the account of one who left (only the admin
    could): `staff flag NAME active off --by OPERATOR` does, audited, and their sign-ins end."""
    member = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(member)
    factories.sign_in_with_code(client, member, device)
    assert client.get(reverse("reports:index")).status_code == 200
    operator = _operator()
    out = io.StringIO()
    call_command(
        "staff", "flag", member.username, "active", "off", "--by", operator.username, stdout=out
    )
    assert "can no longer sign in" in out.getvalue()
    member.refresh_from_db()
    assert not member.is_active
    r = client.get(reverse("reports:index"))
    assert r.status_code == 302
    assert r["Location"].startswith(LOGIN)
    creds = {"username": member.username, "password": factories.PASSWORD}
    assert (
        client.post(LOGIN, {**creds, "otp_token": f"{totp(device.bin_key):06d}"}).status_code != 302
    )
    event = AuditEvent.objects.filter(event_name="accounts.privileges_changed").latest("seq")
    assert event.payload["change"] == "active off"
    assert event.payload["active"] is False
    assert event.actor_id == str(operator.pk)
    from madoguchi.audit.selectors import display

    assert "アカウントを無効に" in display(event, "ja")
    out = io.StringIO()
    call_command("staff", "list", stdout=out)
    listed = {line.split("\t")[0]: line for line in out.getvalue().splitlines()}
    assert listed[member.username].endswith("\tno")
    # An operator does not close their own account; another reopens one.
    with pytest.raises(CommandError, match="cannot close their own account"):
        call_command("staff", "flag", operator.username, "active", "off", "--by", operator.username)
    operator.refresh_from_db()
    assert operator.is_active
    call_command(
        "staff", "flag", member.username, "active", "on", "--by", operator.username,
        stdout=io.StringIO(),
    )  # fmt: skip
    member.refresh_from_db()
    assert member.is_active


def test_closing_a_desk_members_account_signs_out_their_open_desk_session():
    """Their desk session was refused from its next request but stayed open (the terminal
    held, its visit open) until the sweeper's idle close."""
    from madoguchi.terminals import services as terminal_services
    from madoguchi.terminals.models import DeskSession

    member = factories.staff()
    desk = terminal_services.desk_session_open(terminal=factories.terminal(), staff=member)
    out = io.StringIO()
    call_command(
        "staff", "flag", member.username, "active", "off", "--by", _operator().username,
        stdout=out,
    )  # fmt: skip
    assert "1 open desk session is signed out (audited)" in out.getvalue()
    desk = DeskSession.objects.get(pk=desk.pk)
    assert desk.closed_at is not None
    assert desk.close_reason == "signed_out"
    closed = AuditEvent.objects.filter(event_name="terminals.desk_session_closed").latest("seq")
    assert closed.subject_id == str(desk.pk)


def test_a_change_that_changes_nothing_says_so_and_an_operator_keeps_their_own_role(db):
    """`staff grant` of a role held, `revoke` of one not held and a flag set twice printed
    "(audited)" and recorded a change that did not happen; an operator could take away their
    own operator role (the only one: nobody left to run the --by commands), where closing
    their own account is refused."""
    from madoguchi.audit.models import AuditEvent

    operator = factories.staff(Role.OPERATOR)
    member = factories.staff(Role.DESK_STAFF)
    before = AuditEvent.objects.filter(event_name="accounts.privileges_changed").count()
    for args in (
        ("grant", member.username, "desk_staff"),
        ("revoke", member.username, "city_official"),
        ("flag", member.username, "active", "on"),
    ):
        out = io.StringIO()
        call_command("staff", *args, "--by", operator.username, stdout=out)
        assert "nothing was changed" in out.getvalue()
    assert AuditEvent.objects.filter(event_name="accounts.privileges_changed").count() == before
    with pytest.raises(CommandError, match="cannot take away their own operator role"):
        call_command("staff", "revoke", operator.username, "operator", "--by", operator.username)
    operator.refresh_from_db()
    assert Role.OPERATOR.value in operator.roles


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("grant", "{m}", "desk_staff"), "{m} already holds the role desk_staff"),
        (("revoke", "{m}", "operator"), "{m} does not hold the role operator"),
        (("flag", "{m}", "active", "on"), "{m}'s active flag is already on"),
        (("flag", "{m}", "superuser", "off"), "{m}'s superuser flag is already off"),
    ],
)
def test_a_change_that_changes_nothing_says_what_is_so_in_a_sentence(db, args, said):
    """It read `desk1: already revoke operator; nothing was changed.`"""
    operator = factories.staff(Role.OPERATOR)
    member = factories.staff(Role.DESK_STAFF)
    out = io.StringIO()
    filled = [a.format(m=member.username) for a in args]
    call_command("staff", *filled, "--by", operator.username, stdout=out)
    assert out.getvalue() == said.format(m=member.username) + "; nothing was changed.\n"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections at once")
@pytest.mark.django_db(transaction=True)
def test_two_staff_add_of_one_name_at_once_say_the_name_is_taken():
    """Both passed the check that the name was free; the second's INSERT ended in the
    database's IntegrityError traceback."""
    from django.contrib.auth.models import Group

    from madoguchi.accounts.management.commands import staff as staff_command
    from tests.racekit import at_once

    city = factories.city()
    Group.objects.get_or_create(name="desk_staff")  # a transactional test's database is flushed

    def add():
        call_command(
            "staff", "add", "r2", "--role", "desk_staff", "--organisation", city.name,
            "--password", NEW, stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip
        return "added"

    results = at_once(staff_command, "_check_password", add, add)
    assert sorted(map(str, results)) == [
        "A user named 'r2' already exists. Nobody was added.",
        "added",
    ], results
    assert User.objects.filter(username="r2").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "change", [("revoke", "{who}", "operator"), ("flag", "{who}", "active", "off")]
)
def test_two_operators_taking_each_others_role_at_once_leave_one(change):
    """Each command locked only the member it changed: both passed the check that their --by
    was an operator, and none was left to run the --by commands (round 19)."""
    from madoguchi.accounts.management.commands import staff as staff_command
    from tests.racekit import at_once

    a, b = _operator(), _operator()

    def by(me, other):
        def run():
            args = [part.format(who=other.username) for part in change]
            call_command("staff", *args, "--by", me.username, stdout=io.StringIO())
            return "done"

        return run

    results = at_once(staff_command, "_already", by(a, b), by(b, a))
    assert "done" in results, results
    refused = [r for r in results if isinstance(r, CommandError)]
    assert len(refused) == 1, results
    assert "is no longer an active operator" in str(refused[0])
    operators = [u for u in (a, b) if _still_operator(u)]
    assert len(operators) == 1


def _still_operator(user: User) -> bool:
    user.refresh_from_db()
    return user.is_active and user.has_role(Role.OPERATOR)
