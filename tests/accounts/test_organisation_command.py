"""A new deployment creates its city and contractors from the shell, before staff and
terminals (there was no command: `staff add` required an organisation nobody could create)."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from madoguchi.accounts.models import Organisation, User
from madoguchi.terminals.models import Terminal

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password"


@pytest.fixture(autouse=True)
def _piped_password(monkeypatch):
    """What a script pipes to `staff add --password-stdin`: the password on one line."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("organisation", *args, stdout=out)
    return out.getvalue()


def test_a_city_its_contractor_then_staff_and_a_terminal():
    assert "Added Kita City (city)." in _run("add", "Kita City", "--kind", "city")
    said = _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    assert said.strip() == "Added Desk Co (contractor, serving Kita City)."
    contractor = Organisation.objects.get(name="Desk Co")
    assert contractor.city == Organisation.objects.get(name="Kita City")
    assert "Desk Co\tcontractor\tKita City" in _run("list")

    call_command(
        "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
        "--password-stdin", stdout=io.StringIO(),
    )  # fmt: skip
    assert User.objects.get(username="k1").organisation == contractor
    out = io.StringIO()
    call_command(
        "terminal", "register", "kita-01", "--location", "Kita ward office 1F",
        "--contractor", "Desk Co", stdout=out,
    )  # fmt: skip
    assert "Registered terminal kita-01." in out.getvalue()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "Desk Co", "--kind", "contractor"], "name it with --city"),
        (["add", "Desk Co", "--kind", "contractor", "--city", "Nowhere"], "add the city first"),
        (
            ["add", "Kita City", "--kind", "city", "--city", "Kita City"],
            "--city is for a contractor",
        ),
        (["add", "  ", "--kind", "city"], "name is empty"),
    ],
)
def test_refusals_say_why_and_add_nothing(args, says):
    before = Organisation.objects.count()
    with pytest.raises(CommandError, match=says):
        _run(*args)
    assert Organisation.objects.count() == before


def test_a_second_organisation_of_the_same_name_and_a_contractor_as_city_are_refused():
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    with pytest.raises(CommandError, match="already exists"):
        _run("add", "Kita City", "--kind", "city")
    with pytest.raises(CommandError, match="is a contractor, not a city"):
        _run("add", "Other Co", "--kind", "contractor", "--city", "Desk Co")
    assert Organisation.objects.count() == 2


def test_staff_and_terminal_point_to_the_command_when_the_organisation_is_missing():
    with pytest.raises(CommandError, match="madoguchi organisation add"):
        call_command(
            "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Nope",
            "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    with pytest.raises(CommandError, match="madoguchi organisation add"):
        call_command(
            "terminal", "register", "t", "--location", "x", "--contractor", "Nope",
            stdout=io.StringIO(),
        )  # fmt: skip


def test_a_citys_municipality_code_is_set_checked_and_listed():
    said = _run("add", "Kita City", "--kind", "city", "--municipality-code", "271403")
    assert "municipality code 271403" in said
    assert Organisation.objects.get(name="Kita City").municipality_code == "271403"
    with pytest.raises(CommandError, match="six digits"):
        _run("add", "Minami City", "--kind", "city", "--municipality-code", "27140")
    with pytest.raises(CommandError, match="Only a city carries a municipality code"):
        _run(
            "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
            "--municipality-code", "271411",
        )  # fmt: skip
    _run("add", "Minami City", "--kind", "city")
    with pytest.raises(CommandError, match="municipality code"):
        _run("set-code", "Minami City", "271403")  # Kita City's
    assert "set to 271411" in _run("set-code", "Minami City", "271411")
    assert "Minami City\tcity\t\t271411" in _run("list")
    assert "cleared" in _run("set-code", "Minami City", "")
    assert Organisation.objects.count() == 2


@pytest.mark.parametrize(
    "code",
    # Chiyoda, Sakai, Sakai-ku (check digit 1), Sapporo, Fukuoka, Kobe (check digit 0), Kawasaki.
    ["131016", "271403", "271411", "011002", "401307", "281000", "141305"],
)
def test_a_real_municipality_code_is_taken(code):
    _run("add", "Kita City", "--kind", "city", "--municipality-code", code)
    assert Organisation.objects.get(name="Kita City").municipality_code == code


@pytest.mark.parametrize(("code", "right"), [("271404", "271403"), ("131017", "131016")])
def test_a_municipality_code_whose_check_digit_is_wrong_is_refused(code, right):
    """A mistyped code (one digit off) showed the city's officials no scan finding at all."""
    _run("add", "Kita City", "--kind", "city")
    with pytest.raises(CommandError) as refused:
        _run("set-code", "Kita City", code)
    assert f"{code} is not a municipality code" in str(refused.value)
    assert f"({right})" in str(refused.value)
    with pytest.raises(CommandError, match="not a municipality code"):
        _run("add", "Minami City", "--kind", "city", "--municipality-code", code)
    assert Organisation.objects.get(name="Kita City").municipality_code == ""
    assert not Organisation.objects.filter(name="Minami City").exists()
    with translation.override("ja"), pytest.raises(ValidationError) as in_japanese:
        Organisation(name="x", kind="city", municipality_code=code).full_clean()
    said = in_japanese.value.message_dict["municipality_code"][0]
    assert said.startswith(f"{code} は全国地方公共団体コードではありません。")
    assert f"（{right}）" in said


def _add_desk_staff(*args: str) -> str:
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    out = io.StringIO()
    call_command(
        "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co", *args,
        stdout=out,
    )  # fmt: skip
    return out.getvalue()


@pytest.mark.parametrize(
    ("password", "says"),
    [("1", "too short"), ("password123", "too common"), ("48213579160", "entirely numeric")],
)
def test_staff_add_refuses_a_password_the_admin_would_refuse(password, says, monkeypatch):
    """`staff add --password 1` made a desk account with the password "1": the command skipped
    the password rules the admin and Django's own commands apply."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    with pytest.raises(CommandError, match=f"Password refused, nobody was added: .*{says}"):
        _add_desk_staff("--password-stdin")
    assert not User.objects.filter(username="k1").exists()


def test_staff_add_asks_twice_and_says_why_when_nothing_can_be_typed(monkeypatch):
    """With no --password and nothing to read (a script's closed input) the command ended in
    an EOFError traceback; two different answers made an account with the first."""
    import getpass

    def closed(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", closed)
    with pytest.raises(CommandError, match="No password given, nobody was added"):
        _add_desk_staff()
    answers = iter(["a-long-enough-password", "a-long-enough-passw0rd"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="The two passwords differ"):
        call_command(
            "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert not User.objects.filter(username="k1").exists()
    answers = iter(["a-long-enough-password"] * 2)
    call_command(
        "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    assert User.objects.get(username="k1").check_password("a-long-enough-password")


def test_the_audit_line_of_an_enrolled_authenticator_names_its_owner():
    """`staff totp` records no actor: the line read "システム のワンタイムパスワード端末を登録
    しました" (the system's authenticator) instead of naming whose it is."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.audit.selectors import display

    _add_desk_staff("--password-stdin")
    err = io.StringIO()
    call_command("staff", "totp", "k1", stdout=io.StringIO(), stderr=err)
    assert "authenticator app" in err.getvalue()
    event = AuditEvent.objects.get(event_name="accounts.totp_device_added")
    assert display(event, "ja") == "k1 のワンタイムパスワード端末を登録しました"
    assert display(event, "en") == "One-time password device added for k1"


def test_adding_organisations_and_staff_from_the_shell_is_audited_without_the_password():
    """`staff add` wrote no audit event while `staff totp` did; now adding a member, enrolling
    an authenticator and each organisation change name who, what and the operator's OS user."""
    import getpass

    from madoguchi.audit.models import AuditEvent

    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    _run("set-code", "Kita City", "271403")
    call_command(
        "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
        "--display-name", "Kita One", "--password-stdin",
        stdout=io.StringIO(),
    )  # fmt: skip
    call_command("staff", "totp", "k1", stdout=io.StringIO(), stderr=io.StringIO())
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.event_name for e in events] == [
        "accounts.organisation_changed",
        "accounts.organisation_changed",
        "accounts.organisation_changed",
        "accounts.staff_added",
        "accounts.totp_device_added",
    ]
    assert [e.payload["change"] for e in events[:3]] == [
        "added (city)",
        "added (contractor, serving Kita City)",
        "municipality code 271403",
    ]
    # Read in words on Japanese pages (they read 「変更しました: added (city)」 and 「desk_staff」).
    from madoguchi.audit import selectors

    assert [selectors.display(e, "ja").split(": ", 1)[1] for e in events[:3]] == [
        "追加（市）",
        "追加（委託事業者、Kita Cityを担当）",
        "市区町村コード 271403",
    ]
    assert "（支援窓口スタッフ、Desk Co）を追加しました" in selectors.display(events[3], "ja")
    added = events[3].payload
    assert added == {
        "username": "k1",
        "display_name": "Kita One",
        "role": "desk_staff",
        "organisation": "Desk Co",
        "os_user": getpass.getuser(),
    }
    assert all(e.payload["os_user"] == getpass.getuser() for e in events)
    assert not any("a-long-enough-password" in str(e.payload) for e in events)


def test_a_refused_addition_records_nothing(monkeypatch):
    from madoguchi.audit.models import AuditEvent

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    _run("add", "Kita City", "--kind", "city")
    with pytest.raises(CommandError):
        call_command(
            "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Kita City",
            "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    assert not AuditEvent.objects.filter(event_name="accounts.staff_added").exists()


def test_password_stdin_refuses_a_terminal_where_the_password_would_show(monkeypatch):
    """`staff add --password-stdin` run by hand read the password from the terminal as a
    plain line: it showed on the screen as it was typed, and stayed in the scrollback."""
    import os

    master, replica = os.openpty()
    try:
        os.write(master, f"{PASSWORD}\n".encode())  # what the person typed (and saw)
        with open(replica, encoding="utf-8", closefd=False) as terminal:
            monkeypatch.setattr("sys.stdin", terminal)
            with pytest.raises(CommandError, match="standard input here is the terminal"):
                _add_desk_staff("--password-stdin")
    finally:
        os.close(master)
        os.close(replica)
    assert not User.objects.filter(username="k1").exists()


def test_staff_add_refuses_a_user_name_holding_a_long_number(monkeypatch):
    """A name of twelve digits (an employee number, say) cannot sign in: the sign-in refuses
    any name holding a long number as an individual number typed into the box."""
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-enough-password\n"))
    with pytest.raises(CommandError, match=r"holds a long number .*Nobody was added"):
        call_command(
            "staff", "add", "123456789012", "--role", "desk_staff", "--organisation", "Desk Co",
            "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    assert not User.objects.filter(username="123456789012").exists()


def test_a_name_the_audit_log_refuses_is_one_line_at_the_shell(capsys):
    """`organisation add 123456789012` stopped with a traceback ending in the audit log's
    refusal (a 12-digit value looks like an individual number): the shell now prints the reason
    in one line, exit 1, and nothing is created. (Since the thirty-sixth session the name's own
    rule refuses the number, before the audit log is reached.)"""
    from madoguchi.accounts.management.commands.organisation import Command

    command = Command()
    parser = command.create_parser("madoguchi", "organisation")
    options = vars(parser.parse_args(["add", "123456789012", "--kind", "city"]))
    command._called_from_command_line = True  # as run_from_argv sets it (which also closes
    # the database connections, the test's too)
    with pytest.raises(SystemExit) as exited:
        command.execute(*options.pop("args", ()), **options)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("name: The text contains a long number")
    assert err.count("\n") == 1
    assert not Organisation.objects.filter(name="123456789012").exists()


def _staff_add(monkeypatch, username: str, role: str, organisation: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    call_command(
        "staff", "add", username, "--role", role, "--organisation", organisation,
        "--password-stdin", stdout=io.StringIO(),
    )  # fmt: skip


def test_a_city_official_belongs_to_a_city_not_to_its_contractor(monkeypatch):
    """Side doors round 10: `staff add --role city_official --organisation <a contractor>` and
    `staff grant USER city_official` for a contractor's member were taken, giving a desk
    company's member the city's case steps (suspending a resident's link, comparing accounts,
    closing) on the cases its own desk staff opened. Refused, naming the organisation's kind;
    nobody added, nothing granted."""
    from madoguchi.accounts.models import User
    from madoguchi.audit.models import AuditEvent

    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    with pytest.raises(CommandError, match="city official belongs to a city"):
        _staff_add(monkeypatch, "k1", "city_official", "Desk Co")
    assert not User.objects.filter(username="k1").exists()
    _staff_add(monkeypatch, "s1", "supervisor", "Desk Co")
    _staff_add(monkeypatch, "op", "operator", "Kita City")
    with pytest.raises(CommandError, match="city official belongs to a city"):
        call_command("staff", "grant", "s1", "city_official", "--by", "op", stdout=io.StringIO())
    assert "city_official" not in User.objects.get(username="s1").roles
    assert not AuditEvent.objects.filter(event_name="accounts.privileges_changed").exists()
    # The city's own member still can be one.
    _staff_add(monkeypatch, "o1", "city_official", "Kita City")
    assert "city_official" in User.objects.get(username="o1").roles


@pytest.mark.parametrize(
    "name",
    ["デモ市\u202e社会式株", "Kita\u2066 City", "Desk\nCo", "Desk\tCo", "Desk\x07Co"],
    ids=["rlo", "isolate", "line-break", "tab", "bell"],
)
def test_an_organisation_or_display_name_is_one_line_of_plain_text(name):
    """Side doors, round 11: an organisation's name with U+202E (shown as another name on every
    page, report and receipt that names it), a line break or a tab (which broke `organisation
    list`, one line a record) was added as given, by the command and the admin, and a staff
    member's display name and a terminal's name and location too. Each is refused saying why, nothing added or audited."""
    from madoguchi.audit.models import AuditEvent

    _run("add", "Kita City", "--kind", "city")
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="name: A name is one line of plain text"):
        _run("add", name, "--kind", "contractor", "--city", "Kita City")
    with pytest.raises(CommandError, match=r"display name: A name is one line.*Nobody was added"):
        call_command(
            "staff", "add", "k9", "--role", "city_official", "--organisation", "Kita City",
            "--display-name", name, "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    assert not User.objects.filter(username="k9").exists()
    assert Organisation.objects.count() == 1
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    events = AuditEvent.objects.count()
    for args, field in (
        ([name, "--location", "1F"], "name"),
        (["k-01", "--location", name], "location"),
    ):
        with pytest.raises(
            CommandError, match=f"^{field}: A name is one line.*Nothing was registered"
        ):
            call_command(
                "terminal", "register", *args, "--contractor", "Desk Co", stdout=io.StringIO()
            )
    assert not Terminal.objects.exists()
    assert Organisation.objects.count() == 2
    assert AuditEvent.objects.count() == events
    with translation.override("ja"), pytest.raises(ValidationError) as refused:
        Organisation(name=name, kind="city").full_clean()  # the admin's form, in Japanese
    assert "名前は1行の文字だけにしてください" in " ".join(refused.value.messages)


def _lines(*args: str) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_the_list_commands_print_one_header_line_naming_the_columns():
    """`organisation list`, `terminal list` and `staff list` printed bare rows, unlike
    `madoguchi sim accounts`: each now starts with one header line naming its columns (tab
    separated, as the rows), and each row holds values only (`terminal list` printed
    `credentials=0` under its header `credentials`: it prints the count of credentials not
    revoked under `active_credentials`)."""
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    lines = _lines("organisation", "list")
    assert lines[0] == "name\tkind\tcity\tmunicipality_code"
    assert "Desk Co\tcontractor\tKita City\t" in lines[1:]
    _lines("staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
           "--password-stdin")  # fmt: skip
    assert _lines("staff", "list") == [
        "username\torganisation\troles\tactive",
        "k1\tDesk Co\tdesk_staff\tyes",
    ]
    _lines("terminal", "register", "desk-01", "--location", "Kita 1F", "--contractor", "Desk Co")
    _lines("terminal", "credential", "desk-01")
    printed = _lines("terminal", "credential", "desk-01")[0]
    prefix = printed.split("_")[1]
    listed = _lines("terminal", "list")
    assert listed[0] == "name\tlocation\tcontractor\tactive_credentials\tprefixes"
    assert listed[1].startswith("desk-01\tKita 1F\tDesk Co\t2\t")
    assert prefix in listed[1].split("\t")[4].split(",")


def test_a_credential_is_revoked_by_its_prefix_as_listed_or_as_it_was_printed():
    """`terminal revoke` took only the bare middle of `mdt_<prefix>_<secret>`, which nothing
    printed on its own: the credential as printed, or its `mdt_<prefix>` head, was refused as
    "no credential with prefix"; `terminal list` now prints the prefixes too. And --city is
    trimmed as the organisation's own name is."""
    _run("add", " Kita City ", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City ")
    _lines("terminal", "register", "desk-01", "--location", "Kita 1F", "--contractor", "Desk Co")
    printed = [_lines("terminal", "credential", "desk-01")[0] for _ in range(3)]
    heads = [printed[0], "_".join(printed[1].split("_")[:2]), printed[2].split("_")[1]]
    for given in heads:
        assert _lines("terminal", "revoke", given)[0].startswith("Revoked ")
    assert _lines("terminal", "list")[1].split("\t")[3:] == ["0", ""]
    with pytest.raises(CommandError, match="terminal list` prints each terminal's credential"):
        call_command("terminal", "revoke", "nothing")


def test_unbinding_a_terminal_no_browser_is_enrolled_as_says_there_was_nothing_to_unbind():
    """`terminal unbind` on a terminal no browser was enrolled as printed "Unbound 0 browsers
    of desk-01; enrol it again.": it now says there was nothing to unbind."""
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    _lines("terminal", "register", "desk-01", "--location", "Kita 1F", "--contractor", "Desk Co")
    assert _lines("terminal", "unbind", "desk-01") == [
        "No browser is enrolled as desk-01: nothing to unbind."
    ]


def test_staff_list_prints_an_account_of_no_organisation_with_an_empty_column():
    """`staff list` printed Python's "None" in the organisation column of an account that has
    none (the demo's resident-page account): the column is empty, as `organisation list`
    leaves a contractor's municipality code."""
    from madoguchi.accounts.models import User

    User.objects.create_user("no-org")
    assert _lines("staff", "list") == ["username\torganisation\troles\tactive", "no-org\t\t\tyes"]


def test_a_staff_member_or_terminal_past_its_fields_rules_is_refused_not_the_databases_error():
    """`staff add` and `terminal register` checked a name's characters but not the field's own
    rules: a user name of 151 characters, a display name of 101 or a terminal's name of 101
    were added on SQLite and ended in PostgreSQL's "value too long" traceback; a user name with
    a space (which the admin refuses) was added. Each is refused saying why, nothing added."""
    from madoguchi.audit.models import AuditEvent

    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    events = AuditEvent.objects.count()
    for username, display, says in (
        ("k" * 151, "", r"^user name: Ensure this value has at most 150 characters \(it has 151\)"),
        ("k 1", "", r"^user name: Enter a valid username\."),
        ("k2", "y" * 101, r"^display name: Ensure this value has at most 100 characters"),
    ):
        with pytest.raises(CommandError, match=says + r".* Nobody was added\.$"):
            call_command(
                "staff", "add", username, "--role", "desk_staff", "--organisation", "Desk Co",
                "--display-name", display, "--password-stdin", stdout=io.StringIO(),
            )  # fmt: skip
    assert not User.objects.exists()
    for args, field in (
        (["t" * 101, "--location", "1F"], "name"),
        (["t1", "--location", "l" * 201], "location"),
    ):
        with pytest.raises(CommandError, match=f"^{field}: Ensure this value has at most"):
            call_command(
                "terminal", "register", *args, "--contractor", "Desk Co", stdout=io.StringIO()
            )
    assert not Terminal.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_name_holding_a_long_number_is_refused_as_every_other_typed_text_is():
    """An organisation, a staff member's display name, a terminal's name and its location were
    stored with a 12-digit number (a possible individual number) and printed on every page,
    receipt and report naming them; every other text typed (case notes, the resident's
    comment) refuses one. Each is refused naming the field; nothing added or audited."""
    from madoguchi.audit.models import AuditEvent

    number = "１２３４ 5678 9012"  # full-width digits and spaces read as one number
    with pytest.raises(CommandError, match=r"^name: The text contains a long number"):
        _run("add", f"北市{number}", "--kind", "city")
    _run("add", "Kita City", "--kind", "city")
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError, match=r"^display name: The text contains a long number"):
        call_command(
            "staff", "add", "k1", "--role", "desk_staff", "--organisation", "Desk Co",
            "--display-name", f"山田 {number}", "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    for args, field in (
        ([f"t{number}", "--location", "1F"], "name"),
        (["t1", "--location", number], "location"),
    ):
        with pytest.raises(CommandError, match=f"^{field}: The text contains a long number"):
            call_command(
                "terminal", "register", *args, "--contractor", "Desk Co", stdout=io.StringIO()
            )
    assert not User.objects.exists()
    assert not Terminal.objects.exists()
    assert Organisation.objects.count() == 2
    assert AuditEvent.objects.count() == events
    with translation.override("ja"), pytest.raises(ValidationError) as refused:
        Terminal(name="t2", location=f"ロビー {number}").full_clean(exclude=["contractor"])
    assert "長い番号" in " ".join(refused.value.messages)


@pytest.mark.parametrize("name", ["\u3164", "\u200b", "\u2800 \uffa0"])
def test_an_organisation_desk_or_display_name_that_shows_nothing_is_refused(name):
    """Side doors, round 22: an organisation, a desk (its name and location) or a staff
    member's display name of a Hangul filler, a zero-width space or blank Braille was added:
    every page, receipt and report naming it named nothing. Each is refused saying why
    (`plaintext.blank`), nothing added."""
    _run("add", "Kita City", "--kind", "city")
    with pytest.raises(CommandError, match="name: This shows nothing"):
        _run("add", name, "--kind", "contractor", "--city", "Kita City")
    with pytest.raises(CommandError, match=r"display name: This shows nothing.*Nobody was added"):
        call_command(
            "staff", "add", "k9", "--role", "city_official", "--organisation", "Kita City",
            "--display-name", name, "--password-stdin", stdout=io.StringIO(),
        )  # fmt: skip
    assert not User.objects.filter(username="k9").exists()
    _run("add", "Desk Co", "--kind", "contractor", "--city", "Kita City")
    for args, field in (
        ([name, "--location", "1F"], "name"),
        (["k-01", "--location", name], "location"),
    ):
        with pytest.raises(CommandError, match=f"^{field}: This shows nothing.*Nothing was"):
            call_command(
                "terminal", "register", *args, "--contractor", "Desk Co", stdout=io.StringIO()
            )
    assert not Terminal.objects.exists()
    with translation.override("ja"), pytest.raises(ValidationError) as refused:
        Organisation(name=name, kind="city").full_clean()  # the admin's form, in Japanese
    assert "表示する文字を入力してください" in " ".join(refused.value.messages)
