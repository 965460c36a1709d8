"""Probe R2 (regression of side doors round 22): `staff add` checks the user name as typed,
while `User.objects.create_user` stores it NFKC-normalised (Django's
`AbstractBaseUser.normalize_username`). A full-width name typed at a Japanese IME is stored
as its ASCII twin, so the round-22 check of "a name taken, or taken but for its capitals"
compares the wrong text. The admin's add form (`UsernameField.to_python` normalises first,
then `clean_username` compares case-insensitively) refuses both cases below."""

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.accounts.models import Organisation, User
from madoguchi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


@pytest.fixture
def city():
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    call_command(
        "organisation", "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
        stdout=io.StringIO(),
    )  # fmt: skip
    return Organisation.objects.get(name="Desk Co")


def _staff_add(monkeypatch, username: str):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    call_command(
        "staff", "add", username, "--role", "desk_staff", "--organisation", "Desk Co",
        "--password-stdin", stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip


def test_a_full_width_twin_of_an_existing_name_is_refused_in_one_sentence(monkeypatch, city):
    """`staff add ｄｅｓｋ１` (full-width, from an IME left on) after `staff add desk1`: the
    check looked for 'ｄｅｓｋ１', found none, and create_user stored 'desk1' again: the
    unique constraint's IntegrityError, which `madoguchi` re-raises as a traceback."""
    _staff_add(monkeypatch, "desk1")
    users, events = User.objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match="already exists"):
        _staff_add(monkeypatch, "ｄｅｓｋ１")
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events


def test_a_full_width_capitals_twin_is_refused_as_one_name(monkeypatch, city):
    """`staff add ＤＥＳＫ１` after `desk1`: stored as 'DESK1' beside 'desk1', the two members
    round 22 set out to refuse ("names differing only in capitals are one name")."""
    _staff_add(monkeypatch, "desk1")
    with pytest.raises(CommandError, match="already exists"):
        _staff_add(monkeypatch, "ＤＥＳＫ１")
    assert list(
        User.objects.filter(username__iexact="desk1").values_list("username", flat=True)
    ) == ["desk1"]


def test_a_half_width_kana_twin_of_an_existing_name_is_refused_in_one_sentence(monkeypatch, city):
    """`staff add ﾔﾏﾀﾞ` (half-width kana, as some systems export names) after `staff add
    ヤマダ`: create_user stores 'ヤマダ' (NFKC) again, the unique constraint's IntegrityError
    after the password was read, a traceback at the shell."""
    _staff_add(monkeypatch, "ヤマダ")
    users, events = User.objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match="already exists"):
        _staff_add(monkeypatch, "ﾔﾏﾀﾞ")
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events
