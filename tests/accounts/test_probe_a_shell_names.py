"""Probe A (side doors round 22, issues 2 and 16): names an operator types at the shell when
setting up a city, as README "Setting up a city" runs them.

Each refusal is one sentence (a ``CommandError``), nothing written, as the README promises:
"Each command refuses a missing or wrong organisation saying which and how to add it", and
`organisation add` already refuses an empty or space-padded name."""

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.accounts.models import Organisation, User
from madoguchi.audit.models import AuditEvent
from madoguchi.terminals.models import Terminal

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


@pytest.fixture
def city(monkeypatch):
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    call_command(
        "organisation", "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
        stdout=io.StringIO(),
    )  # fmt: skip
    return Organisation.objects.get(name="Desk Co")


def _staff_add(monkeypatch, username: str, role: str = "desk_staff", org: str = "Desk Co"):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    call_command(
        "staff", "add", username, "--role", role, "--organisation", org, "--password-stdin",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip


def test_staff_add_with_an_empty_user_name_is_a_sentence_not_a_traceback(monkeypatch, city):
    """`madoguchi staff add '' --role desk_staff --organisation 'Desk Co' --password-stdin`
    (a script whose variable was empty) ended in Django's `ValueError: The given username must
    be set` traceback, after the password had been read: the field's validators skip an empty
    value, so the command's own check let it through."""
    users, events = User.objects.count(), AuditEvent.objects.count()
    with pytest.raises(CommandError, match="Nobody was added"):
        _staff_add(monkeypatch, "")
    assert User.objects.count() == users
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("name", "location"),
    [("", "Kita ward office 1F"), ("   ", "Kita ward office 1F"), ("kita-02", ""),
     ("kita-02", "   ")],
    ids=["empty-name", "spaces-name", "empty-location", "spaces-location"],
)  # fmt: skip
def test_terminal_register_refuses_a_blank_name_or_location(city, name, location):
    """`madoguchi terminal register '' --location … --contractor 'Desk Co'` printed
    "Registered terminal ." and made a terminal with no name (a blank row in `terminal list`, a
    blank button on the enrolment page, audited as registered); a blank location was taken
    too. `organisation add ''` refuses its empty name ("The organisation's name is empty")."""
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="Nothing was registered"):
        call_command(
            "terminal", "register", name, "--location", location, "--contractor", "Desk Co",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert not Terminal.objects.exists()
    assert AuditEvent.objects.count() == events


def test_terminal_register_does_not_make_a_second_terminal_that_looks_like_the_first(city):
    """`terminal register 'kita-01 '` (a trailing space, from a pasted line) beside `kita-01`
    registered a second terminal printed exactly like the first in `terminal list`, on the
    enrolment page and in every report. `organisation add 'Kita City '` is read as 'Kita City'
    and refused as existing; a terminal's name is taken as typed."""
    call_command(
        "terminal", "register", "kita-01", "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    with pytest.raises(CommandError):
        call_command(
            "terminal", "register", "kita-01 ", "--location", "1F", "--contractor", "Desk Co",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert list(Terminal.objects.values_list("name", flat=True)) == ["kita-01"]


def test_staff_add_refuses_a_user_name_that_differs_only_in_case(monkeypatch, city):
    """The admin's add form (Django's `UserCreationForm.clean_username`) refuses a user name
    that differs from an existing one only in case ("A user with that username already
    exists."); `staff add` — whose comment says it runs "the admin's" field rules — created
    `Desk1` beside `desk1`: two members whose names read alike in `staff list`, the audit
    log and the daily reports."""
    _staff_add(monkeypatch, "desk1")
    with pytest.raises(CommandError, match="already exists"):
        _staff_add(monkeypatch, "Desk1")
    assert list(User.objects.values_list("username", flat=True)) == ["desk1"]


def test_setting_a_citys_code_to_the_code_it_has_changes_nothing_and_records_nothing(city):
    """`madoguchi organisation set-code 'Kita City' 011002` run twice (a setup script run
    again) said "Kita City's municipality code set to 011002." the second time too, exit 0,
    and recorded a second `accounts.organisation_changed` event (「…組織 Kita City を変更しまし
    た: 市区町村コード 011002」) for a change nobody made. The other commands run twice say so and
    record nothing: `staff flag` ("… is already on; nothing was changed."), `staff grant`,
    `terminal revoke` ("… was already revoked …; nothing was changed.")."""
    call_command("organisation", "set-code", "Kita City", "011002", stdout=io.StringIO())
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("organisation", "set-code", "Kita City", "011002", stdout=out)
    assert "nothing was changed" in out.getvalue()
    assert AuditEvent.objects.count() == events


def test_a_city_code_set_again_after_a_change_still_records_the_change(city):
    """The no-change answer is for the code the city has; another code is still set, once
    recorded (side doors round 22)."""
    call_command("organisation", "set-code", "Kita City", "011002", stdout=io.StringIO())
    events = AuditEvent.objects.count()
    out = io.StringIO()
    call_command("organisation", "set-code", "Kita City", "", stdout=out)
    assert "cleared" in out.getvalue()
    assert AuditEvent.objects.count() == events + 1
    out = io.StringIO()
    call_command("organisation", "set-code", "Kita City", "", stdout=out)
    assert (
        out.getvalue() == "Kita City's municipality code is already blank; nothing was changed.\n"
    )
    assert AuditEvent.objects.count() == events + 1


def test_set_code_trims_the_name_as_add_does(city):
    """`organisation add ' Kita City '` adds 'Kita City'; `set-code ' Kita City '` said "No
    organisation named ' Kita City '"."""
    call_command("organisation", "set-code", " Kita City ", "011002", stdout=io.StringIO())
    assert Organisation.objects.get(name="Kita City").municipality_code == "011002"


def test_a_second_organisation_differing_only_in_capitals_is_refused(city):
    """`organisation add 'kita city'` beside 'Kita City' was added: two organisations read
    alike in `organisation list`, the admin's lists and every report."""
    with pytest.raises(CommandError, match="'Kita City' already exists"):
        call_command("organisation", "add", "kita city", "--kind", "city", stdout=io.StringIO())
    assert Organisation.objects.filter(name__iexact="kita city").count() == 1


def test_a_terminal_differing_only_in_capitals_is_refused(city):
    call_command(
        "terminal", "register", "kita-01", "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    with pytest.raises(CommandError, match="'kita-01' already exists"):
        call_command(
            "terminal", "register", "KITA-01", "--location", "1F", "--contractor", "Desk Co",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert Terminal.objects.count() == 1


def test_a_terminal_name_and_location_are_registered_trimmed(city):
    call_command(
        "terminal", "register", " kita-02 ", "--location", " Kita ward office 1F ",
        "--contractor", "Desk Co", stdout=io.StringIO(),
    )  # fmt: skip
    terminal = Terminal.objects.get()
    assert (terminal.name, terminal.location) == ("kita-02", "Kita ward office 1F")


def test_staff_add_names_the_member_whose_name_differs_only_in_capitals(monkeypatch, city):
    _staff_add(monkeypatch, "desk1")
    with pytest.raises(CommandError) as refused:
        _staff_add(monkeypatch, "DESK1")
    assert str(refused.value) == (
        "A user named 'desk1' already exists (names differing only in capitals are one name). "
        "Nobody was added."
    )
