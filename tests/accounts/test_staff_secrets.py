"""`madoguchi staff add` takes the password from a prompt or standard input, not the command
line (which stays in the shell's history and shows in `ps`): `--password` is kept for old
scripts with a warning. `madoguchi staff totp` keeps one authenticator per member: a second
enrolment is refused unless `--replace`, which removes the earlier one (audited)."""

import getpass
import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.models import User
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import display
from tests import factories

pytestmark = pytest.mark.django_db


def _add(monkeypatch, piped: str | None, *args: str) -> tuple[str, str]:
    if piped is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    org = factories.contractor()
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "staff", "add", "k1", "--role", "desk_staff", "--organisation", org.name, *args,
        stdout=out, stderr=err,
    )  # fmt: skip
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("piped", ["a-long-enough-password\n", "a-long-enough-password\r\n"])
def test_the_password_is_read_from_standard_inputs_first_line(monkeypatch, piped):
    out, err = _add(monkeypatch, piped + "the next line is not read\n", "--password-stdin")
    assert "Created k1" in out
    assert err == ""
    assert User.objects.get(username="k1").check_password("a-long-enough-password")


def test_a_password_read_from_standard_input_keeps_its_spaces(monkeypatch):
    _add(monkeypatch, " a long enough password \n", "--password-stdin")
    assert User.objects.get(username="k1").check_password(" a long enough password ")


@pytest.mark.parametrize("piped", ["", "\n"])
def test_nothing_on_standard_input_is_refused_saying_where_it_is_read(monkeypatch, piped):
    with pytest.raises(CommandError, match="No password on standard input, nobody was added"):
        _add(monkeypatch, piped, "--password-stdin")
    assert not User.objects.filter(username="k1").exists()


def test_a_whole_file_on_standard_input_is_refused(monkeypatch):
    with pytest.raises(CommandError, match="longer than 4096 characters, nobody was added"):
        _add(monkeypatch, "x" * 10_000, "--password-stdin")
    assert not User.objects.filter(username="k1").exists()


def test_a_password_on_the_command_line_still_works_and_warns(monkeypatch):
    out, err = _add(monkeypatch, None, "--password", "a-long-enough-password")
    assert "Created k1" in out
    assert "--password leaves the password in the shell's history" in err
    assert "--password-stdin" in err
    assert User.objects.get(username="k1").check_password("a-long-enough-password")


def test_both_ways_at_once_are_refused(monkeypatch):
    with pytest.raises(CommandError, match="not allowed with argument"):
        _add(monkeypatch, "x\n", "--password-stdin", "--password", "a-long-enough-password")


def _totp(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("staff", "totp", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_second_authenticator_is_refused_and_the_first_kept():
    user = factories.staff(username="k1")
    uri = _totp("k1")[0].strip()
    [first] = TOTPDevice.objects.filter(user=user)
    with pytest.raises(CommandError, match="k1 already has an authenticator; nothing was changed"):
        _totp("k1")
    assert list(TOTPDevice.objects.filter(user=user)) == [first]
    assert first.config_url == uri
    assert AuditEvent.objects.filter(event_name="accounts.totp_device_added").count() == 1


def test_replace_removes_the_earlier_authenticator_and_is_audited():
    user = factories.staff(username="k1")
    _totp("k1")
    [first] = TOTPDevice.objects.filter(user=user)
    uri, err = _totp("k1", "--replace")
    uri = uri.strip()
    [second] = TOTPDevice.objects.filter(user=user)
    assert second.pk != first.pk
    assert second.config_url == uri != first.config_url
    assert "earlier authenticator was removed: its codes are no longer accepted" in err
    event = AuditEvent.objects.get(event_name="accounts.totp_device_replaced")
    assert event.payload == {"username": "k1", "removed": "1", "os_user": getpass.getuser()}
    assert display(event, "en") == (
        f"{getpass.getuser()} replaced the one-time password device of k1 "
        "(1 earlier no longer accepted)"
    )


def test_replace_with_no_earlier_authenticator_enrols_one():
    user = factories.staff(username="k1")
    _, err = _totp("k1", "--replace")
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert "removed" not in err
    assert AuditEvent.objects.filter(event_name="accounts.totp_device_added").count() == 1
