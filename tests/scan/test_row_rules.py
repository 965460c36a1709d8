"""The rules between a row's columns (schema.ROW_RULES): a desk link names its terminal and
staff member, a self link no staff member, a commit its link and staff member, a card read its
resident, a login its staff member. A row breaking one is one error naming the file, the
column and the row (with the link, or the terminal and time, to find it by), nothing written;
the same on schema's batches, DuckDB's one query and in CSV. What real records plausibly hold
is accepted: a self link at a kiosk's terminal, a commit without its resident, a commit of a
link the links table no longer holds."""

import io
from datetime import timedelta

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import run as scan_run
from madoguchi.scan import schema
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"


def _desk() -> Desk:
    """Events: 1 login, 2 card read of A, 3 commit of L1, 4 card removed, 5 logout. Links: 1
    L1 (desk), 2 L2 (self)."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", channel="self")
    d.event(30, "logout")
    return d


DESK_LINK = "a desk link names the"
SELF_LINK = "a self link is one the resident made themself"

BROKEN = {
    "desk link without terminal": (
        "links",
        0,
        {"terminal_id": None},
        "terminal_id",
        f"row 1 has channel 'desk' and no terminal_id: {DESK_LINK} terminal",
    ),
    "desk link with a blank staff member": (
        "links",
        0,
        {"staff_id": " \u3000"},
        "staff_id",
        f"row 1 has channel 'desk' and no staff_id: {DESK_LINK} staff member",
    ),
    "self link with a staff member": (
        "links",
        1,
        {"staff_id": "S1"},
        "staff_id",
        f"row 2 has channel 'self' and a staff_id: {SELF_LINK}",
    ),
    "commit without its link": (
        "desk_events",
        2,
        {"link_id": ""},
        "link_id",
        "row 3 (at 2022-08-01 09:02:00) has event 'commit' and no link_id: "
        "a commit is the desk evidence of the link it made",
    ),
    "card read without its resident": (
        "desk_events",
        1,
        {"resident_id": None},
        "resident_id",
        "row 2 (at 2022-08-01 09:01:00) has event 'card_read' and no "
        "resident_id: a card read names the resident whose card was read",
    ),
    "login without its staff member": (
        "desk_events",
        0,
        {"staff_id": None},
        "staff_id",
        "row 1 (at 2022-08-01 09:00:00) has event 'login' and no staff_id: "
        "a login names the staff member who signed in",
    ),
    "commit without its staff member": (
        "desk_events",
        2,
        {"staff_id": ""},
        "staff_id",
        "row 3 (at 2022-08-01 09:02:00) has event 'commit' and no staff_id",
    ),
}


def _broken(case: str, directory):
    table, index, change, column, said = BROKEN[case]
    d = _desk()
    rows = d.links if table == "links" else d.events
    rows[index].update(change)
    return table, column, said, d.write(directory)


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_row_breaking_a_rule_is_one_error_naming_file_column_and_row(case, tmp_path, duck):
    table, column, said, directory = _broken(case, tmp_path / "in")
    path = directory / f"{table}.parquet"
    with pytest.raises(schema.InputError) as bounded:
        schema.validate(directory)
    assert str(bounded.value).startswith(f"{path}, column {column!r}: {said}"), bounded.value
    assert bounded.value.column == column
    # DuckDB's one query over the file finds it too (it would have counted the rows as
    # valid) and leaves the sentence to schema.
    with pytest.raises(schema.InputError) as by_duckdb:
        duck.validate(directory)
    assert str(by_duckdb.value) == str(bounded.value)
    assert duck._valid_rows(table, path) is None
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value) == str(bounded.value)
    assert not out.exists()


def test_in_csv_the_row_is_numbered_as_a_spreadsheet_shows_it(tmp_path):
    _table, _column, _said, directory = _broken("self link with a staff member", tmp_path / "in")
    t = pq.read_table(directory / "links.parquet")
    (directory / "links.parquet").unlink()
    pacsv.write_csv(t, directory / "links.csv")
    with pytest.raises(schema.InputError) as exc:
        schema.validate(directory)
    assert str(exc.value).startswith(
        f"{directory / 'links.csv'}, column 'staff_id': row 3 has channel "
        "'self' and a staff_id: a self link"
    )


def test_the_row_is_found_in_a_later_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "BATCH_ROWS", 2)
    _table, _column, _said, directory = _broken("commit without its link", tmp_path / "in")
    t = pq.read_table(directory / "desk_events.parquet")
    pq.write_table(t, directory / "desk_events.parquet", row_group_size=2)
    with pytest.raises(schema.InputError, match=r"column 'link_id': row 3 \(at 2022"):
        schema.validate(directory)


def test_what_real_records_plausibly_hold_is_accepted_and_scanned(tmp_path, duck):
    """A self link made at a self-service kiosk names its terminal (and no staff member); a
    desk log may record a commit by its link alone, and a card's removal or a logout without
    the resident or staff member; a link corrected since (deleted from the registry) leaves
    its commit in the desk log but is no longer in links. None of these breaks a rule, and
    the scan still finds the typed ID and the logout omission beside them."""
    d = _desk()
    d.links[1].update(terminal_id="KIOSK-1", holder_kana="ｻﾄｳ ﾐﾂｺ")  # a stranger's account
    d.events[2]["resident_id"] = None  # the commit of L1
    d.events[3]["resident_id"] = None  # the card removed
    d.events[4]["staff_id"] = None  # the logout
    d.event(40, "login")
    d.event(41, "card_read", resident="A")
    d.event(42, "commit", resident="A", link="L-DELETED")  # corrected since: not in links
    d.event(43, "card_read", resident="B")
    d.link("L3", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=44)  # B's account under A's card: logout omission
    d.event(50, "logout")
    directory = d.write(tmp_path / "in")
    rows = schema.validate(directory)
    assert rows == {"residents": 4, "links": 3, "desk_events": 11}
    assert duck.validate(directory) == rows
    out = tmp_path / "out"
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    found = pq.read_table(out / "findings.parquet").to_pylist()
    assert [(f["link_id"], f["cause"]) for f in found] == [
        ("L2", "typed_wrong_id"),
        ("L3", "logout_omission"),
    ]
    # The report says where each was made: the kiosk's terminal alone (it read "職員 " with
    # no one after it), the desk's terminal and staff member.
    html = (out / "report.html").read_text()
    assert "ご本人による申請（端末 KIOSK-1）</p>" in html
    assert "窓口（端末 T1、職員 S1）</p>" in html


def test_duckdb_counts_a_valid_file_without_schema(tmp_path, duck, monkeypatch):
    """The rules are in DuckDB's one query: a valid file is counted there, not by schema."""
    directory = _desk().write(tmp_path / "in")

    def never(*args, **kwargs):
        raise AssertionError("schema validated a file DuckDB's query should have counted")

    monkeypatch.setattr(schema, "validate_table", never)
    assert duck.validate(directory) == {"residents": 4, "links": 2, "desk_events": 5}


def test_every_rule_names_a_column_of_its_table():
    for table, rules in schema.ROW_RULES.items():
        names = {c.name: c for c in schema.TABLES[table]}
        for rule in rules:
            assert not names[rule.column].required
            assert set(rule.among) <= set(names[rule.when].values)


def test_a_desk_log_naming_no_link_of_links_is_refused_and_nothing_written(tmp_path, monkeypatch):
    """Every commit's link_id written another way than links writes it (another system's
    numbering): the desk rules would find no evidence for any link, so the run is refused;
    also when the first commits looked up are not the ones that match, it looks at all."""
    d = _desk()
    d.event(2, "commit", link="0001")  # at L1's own linked_at, as its commit would be
    for e in d.events:
        if e["event"] == "commit":
            e["link_id"] = "DESK-" + e["link_id"]
    directory = d.write(tmp_path / "in")
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value) == (
        f"{directory / 'desk_events.parquet'}, column 'link_id': no commit's link_id is in "
        "links.parquet (commits have e.g. 'DESK-L1', links e.g. 'L1'): the desk log must name "
        "each link by the same ID as links (another system's numbering, or a prefix or leading "
        "zeros lost in a spreadsheet, would differ), else no desk evidence is found for any "
        "link; nothing was written"
    )
    assert not out.exists()
    # One commit naming a link of links, beyond the first looked up: accepted.
    monkeypatch.setattr(scan_run, "COMMIT_SAMPLE", 1)
    d.events[-1]["link_id"] = "L1"
    directory = d.write(tmp_path / "in2")
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    assert (out / "findings.parquet").exists()
    # No desk link at all: the desk log is evidence of none, and is not refused for it.
    d.links[0].update(channel="self", terminal_id=None, staff_id=None)
    d.events[-1]["link_id"] = "DESK-0001"
    directory = d.write(tmp_path / "in3")
    call_command(
        "scan",
        "run",
        str(directory),
        "--out",
        str(tmp_path / "out3"),
        "--no-pdf",
        stdout=io.StringIO(),
    )


def test_a_desk_link_whose_commit_is_logged_at_another_terminal_is_refused(tmp_path):
    """The rules read a link's desk evidence at its commit's terminal, the report's timeline
    and a case's desk at the link's own: a link whose commit the log records at another
    terminal is refused, naming the file, the column, the row and both terminals; nothing is
    written. In CSV the row counts the header."""
    d = _desk()
    d.link("L3", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=20, term="T2")
    d.links[-1]["terminal_id"] = "T9"
    out = tmp_path / "out"
    for fmt in ("parquet", "csv"):
        directory = d.write(tmp_path / f"in-{fmt}")
        if fmt == "csv":
            links = directory / "links.parquet"
            pacsv.write_csv(pq.read_table(links), directory / "links.csv")
            links.unlink()
        with pytest.raises(CommandError) as refused:
            call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
        row = 3 if fmt == "parquet" else 4
        assert str(refused.value).startswith(
            f"{directory / f'links.{fmt}'}, column 'terminal_id': row {row} has a terminal_id "
            "other than the one desk_events.parquet records its commit at "
            "(2022-08-01 09:20:00): a desk link's terminal is the one its commit was made at"
        )
        assert str(refused.value).endswith("nothing was written")
        assert not out.exists()
    # Two such links: counted, the lowest link_id named.
    d.link("L0", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=25, term="T2")
    d.links[-1]["terminal_id"] = "T8"
    directory = d.write(tmp_path / "in-two")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert "row 4 has a terminal_id other than" in str(refused.value)
    assert "(2 desk links do so; the one with the lowest link_id is named)" in str(refused.value)


def test_a_link_the_desk_log_commits_twice_is_refused(tmp_path):
    """A desk log holding a commit row twice (exported over overlapping dates, or a row pasted
    again) made the link a finding twice: findings.parquet held several rows for one link, and
    `--record` failed on the database's one finding a link after the files were written.
    Refused, naming the log, the column, the link and its commits' times; nothing written."""
    d = _desk()
    commit = next(e for e in d.events if e["event"] == "commit")
    d.events.append(dict(commit))
    out = tmp_path / "out"
    directory = d.write(tmp_path / "in")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value).startswith(
        f"{directory / 'desk_events.parquet'}, column 'link_id': a link has 2 commit rows "
        "(the first at 2022-08-01 09:02:00): a link is committed once"
    )
    assert str(refused.value).endswith("nothing was written")
    assert not out.exists()
    # The whole log pasted twice: counted, the lowest link_id named.
    d.link("L0", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=20)
    d.events.extend([dict(e) for e in d.events])
    directory = d.write(tmp_path / "in-twice")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert "a link has 2 commit rows (the first at 2022-08-01 09:20:00)" in str(refused.value)
    assert (
        "(2 links are committed more than once; the one with the lowest link_id is named)"
        in str(refused.value)
    )


def test_a_desk_link_whose_commit_disagrees_on_its_staff_or_time_is_refused(tmp_path):
    """The rules read the commit's staff member and time, the finding's sentence, the report's
    timeline and a case's session records the link's: a commit logged under another staff
    member made a lent-terminal finding say "committed in the name of S1 while S1 was signed
    in"; a link two hours off its commit (or a log in UTC, 9 hours off) showed another
    session's residents and no commit. Refused, naming the file, column, row and both."""
    out = tmp_path / "out"
    d = _desk()
    commit = next(e for e in d.events if e["event"] == "commit")
    commit["staff_id"] = "S9"
    directory = d.write(tmp_path / "in-staff")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value).startswith(
        f"{directory / 'links.parquet'}, column 'staff_id': row 1 has a staff_id other "
        "than the one desk_events.parquet records its commit under (2022-08-01 09:02:00): a "
        "desk link's staff member is the one its commit was made under"
    )
    assert str(refused.value).endswith("nothing was written")
    assert not out.exists()
    d = _desk()
    for e in d.events:  # the desk log written in UTC
        e["at"] -= timedelta(hours=9)
    directory = d.write(tmp_path / "in-utc")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value).startswith(
        f"{directory / 'links.parquet'}, column 'linked_at': row 1 has linked_at "
        "2022-08-01 09:02:00, but desk_events.parquet records its commit at 2022-08-01 00:02:00 "
        "(9 hours apart: is one of them in another time zone, UTC say?"
    )
    assert not out.exists()
    # Within the slack (a provider's clock a minute behind): scanned.
    d = _desk()
    d.links[0]["linked_at"] += timedelta(minutes=1)
    result = scan_run.run(d.write(tmp_path / "in-ok"), out, pdf=False, progress=None)
    assert (result.out / "findings.parquet").exists()


def test_a_commit_at_the_links_own_terminal_or_of_a_self_link_is_accepted(tmp_path):
    """The same link and commit at one terminal, a link at another terminal with no commit
    in the log, and a kiosk's self link whose terminal is not a desk's: scanned."""
    d = _desk()
    d.link("L3", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=20, term="T2")
    d.link("L4", "B", "ｽｽﾞｷ ｲﾁﾛｳ", term="T7")  # no commit logged
    d.link("L5", "B", "ｽｽﾞｷ ｲﾁﾛｳ", channel="self")
    d.links[-1]["terminal_id"] = "KIOSK1"
    d.event(26, "commit", term="T1", link="L5")
    result = scan_run.run(d.write(tmp_path / "in"), tmp_path / "out", pdf=False, progress=None)
    assert (result.out / "findings.parquet").exists()
