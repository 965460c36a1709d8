"""Side doors round 22 (the forty-fourth session): what the scan's input may hold, beside probe
D's tests (test_probe_d_round22.py). An account hash is madoguchi's form alone; a reading
is kana (or Latin letters); no text holds a NUL; a time is from 2016 to 2099; nanosecond
timestamps are read to the microsecond; and the report's timeline dates a change of day."""

import io
import re
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.namecheck.normalise import KANJI, OTHER, analyse
from madoguchi.scan import report, schema
from tests.scan import builders
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"


def _plain() -> Desk:
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.visit(10, "B", [("L2", "ﾀﾅｶ ﾊﾅｺ")])
    d.event(30, "logout")
    return d


def _refused(directory) -> schema.InputError:
    with pytest.raises(schema.InputError) as refused:
        schema.validate(directory)
    return refused.value


def _run(data, out):
    call_command(
        "scan",
        "run",
        str(data),
        "--out",
        str(out),
        "--no-pdf",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


# --- the account's keyed hash -------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "普通 1234567",  # a note with the number
        "TEL 03-1234-5678",
        "0005／001／1／1234567",  # full-width slashes
        "0005 001 1 1234567x",  # a letter after the number is still no hash
        "a1234567",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",  # another system's hash (SHA-1)
        "AB" * 32,  # madoguchi's hash in upper case
        "ab" * 32 + "\n",
        "ab" * 32 + " ",
        "ａｂ" * 32,  # full-width
    ],
)
def test_an_account_hash_not_in_madoguchis_form_is_refused_without_its_value(tmp_path, value):
    """Only HMAC-SHA256 as 64 lower-case hexadecimal digits, as madoguchi's registrations
    write it, is a keyed hash a case can compare: anything else is refused naming its row,
    and never shown (a note or a number in it is the account's)."""
    d = _plain()
    d.links[0]["account_hash"] = value
    refused = _refused(d.write(tmp_path / "in"))
    assert refused.column == "account_hash"
    assert refused.problem.startswith(f"row 1 has a value of {len(value)} ")
    assert "(not shown)" in refused.problem
    for part in re.findall(r"[0-9A-Za-z]{4,}", value):
        assert part not in str(refused)
    if value == "AB" * 32:
        assert "in upper case: write its 64 hexadecimal digits in lower case" in refused.problem
    elif value.startswith(("普通", "TEL", "a1", "da39", "ａｂ", "ab")):
        assert "not a keyed hash: account_hash is HMAC-SHA256" in refused.problem


def test_a_keyed_hash_as_madoguchi_writes_it_is_read_and_kept_whole(tmp_path):
    """The form madoguchi's registrations write (benefits.identifiers.identifier_hash), digits
    alone too (64 of them are no account number), goes into findings.parquet as given."""
    d = _plain()
    d.links[1]["account_hash"] = "0" * 64
    data = d.write(tmp_path / "in")
    _run(data, tmp_path / "out")
    found = pq.read_table(tmp_path / "out" / "findings.parquet").to_pylist()
    assert [(f["link_id"], f["account_hash"]) for f in found] == [("L2", "0" * 64)]


def test_the_generated_input_writes_its_hashes_in_the_form_the_scan_reads(tmp_path):
    from madoguchi.scan import generate

    generate.generate(tmp_path / "g", links=300, seed=3)
    hashes = pq.read_table(tmp_path / "g" / "links.parquet").column("account_hash")
    assert pc.all(pc.match_substring_regex(hashes, schema.ACCOUNT_HASH)).as_py()
    assert len(set(hashes.to_pylist())) > 1
    schema.validate(tmp_path / "g")


# --- a reading ----------------------------------------------------------------------------


def _reading_characters() -> list[str]:
    return [chr(c) for lo, hi in schema._READING_RANGES for c in range(lo, hi + 1)]


def test_every_character_a_reading_may_hold_is_kana_latin_or_a_mark_to_the_name_check():
    """docs/name-check.md's normaliser reads every character a reading may hold as kana, a
    Latin letter or digit, a long vowel or a space, never as kanji or another script (which
    the desk refuses in a kana name, and which the name check compares with no holder)."""
    for ch in _reading_characters():
        for name in (f"ア{ch}ア", f"A{ch}A"):
            assert not analyse(name).script & (KANJI | OTHER), (ch, hex(ord(ch)))
    matched = pc.match_substring_regex(pa.array(_reading_characters()), schema.READING)
    assert pc.all(matched).as_py()


@pytest.mark.parametrize(
    "reading",
    ["スズキ イチロウ", "すずき いちろう", "ｽｽﾞｷ ｲﾁﾛｳ", "ジョン・スミス", "SMITH JOHN", "ｵｰﾉ ﾕｰ",
     "スズキ\u3000イチロウ", "オニール＝ジョン", "O'NEIL JOHN", "ヴァン ゛"],
)  # fmt: skip
def test_a_reading_in_kana_or_latin_letters_is_read(tmp_path, reading):
    d = _plain()
    d.residents[2]["name_kana"] = reading
    schema.validate(d.write(tmp_path / "in"))


@pytest.mark.parametrize(
    ("reading", "character", "kanji"),
    [
        ("佐々木 ハナ", "佐", True),
        ("ササキ 々", "々", True),
        ("スズキ 一郎", "一", True),
        ("김 민수", "김", False),
        ("JOSÉ", "É", False),
        ("スズキ(イチロウ)", "(", False),
        ("スズキ\tイチロウ", "\t", False),
        ("スズキ★", "★", False),
    ],
)
def test_a_reading_with_kanji_or_another_script_names_the_character(
    tmp_path, reading, character, kanji
):
    d = _plain()
    d.residents[2]["name_kana"] = reading
    refused = _refused(d.write(tmp_path / "in"))
    assert refused.column == "name_kana"
    place = reading.index(character) + 1
    assert refused.problem.startswith(
        f"row 3 has a reading of {len(reading)} characters with {character!r} "
        f"(U+{ord(character):04X}, character {place}), "
        + ("a kanji" if kanji else "a character a reading does not hold")
    )
    assert ("belongs in name_kanji" in refused.problem) is kanji
    assert reading not in str(refused)


# --- NUL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("links", "holder_kana", 1),
        ("links", "link_id", 0),
        ("residents", "name_kanji", 0),
        ("desk_events", "resident_id", 1),
    ],
)
def test_a_nul_in_any_text_column_is_refused_naming_its_row_never_its_value(
    tmp_path, table, column, index
):
    d = _plain()
    rows = {"links": d.links, "residents": d.residents, "desk_events": d.events}[table]
    rows[index][column] = f"{rows[index][column] or 'X'}\x00 "
    data = d.write(tmp_path / "in")
    refused = _refused(data)
    assert (refused.column, refused.problem) == (
        column,
        f"row {index + 1} has {schema.NUL_PROBLEM}",
    )
    with pytest.raises(CommandError, match=re.escape(str(refused))):
        _run(data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_nul_in_a_csv_is_refused_at_the_row_a_spreadsheet_shows(tmp_path):
    d = _plain()
    d.links[1]["holder_kana"] = "ﾀﾅｶ\x00\x00\x00"
    data = d.write(tmp_path / "in")
    pacsv.write_csv(pq.read_table(data / "links.parquet"), data / "links.csv")
    (data / "links.parquet").unlink()
    refused = _refused(data)
    assert refused.file.endswith("links.csv")
    assert (refused.column, refused.problem) == ("holder_kana", f"row 3 has {schema.NUL_PROBLEM}")


# --- the times' range ---------------------------------------------------------------------


def _at(day):
    saved = builders.DAY
    builders.DAY = day
    try:
        return _plain()
    finally:
        builders.DAY = saved


@pytest.mark.parametrize(
    ("day", "accepted"),
    [
        (datetime(2016, 1, 1, 0, 0), True),
        (datetime(2015, 12, 31, 23, 0), False),
        (datetime(2099, 12, 31, 23, 29), True),  # the last event at 23:59
        (datetime(2099, 12, 31, 23, 31), False),  # the logout at 2100-01-01 00:01
        (datetime(1, 1, 1, 0, 0), False),
    ],
)
def test_the_times_are_from_2016_to_2099(tmp_path, day, accepted):
    data = _at(day).write(tmp_path / "in")
    if accepted:
        schema.validate(data)
        _run(data, tmp_path / "out")
        assert (tmp_path / "out" / "report.html").exists()
        return
    refused = _refused(data)
    if day.year < 2016:
        assert (refused.file, refused.column) == (str(data / "links.parquet"), "linked_at")
        first = day + timedelta(minutes=2)  # L1's commit
        assert refused.problem.startswith(
            f"row 1 has {first.isoformat(sep=' ')}, outside the times"
        )
    else:
        assert (refused.file, refused.column) == (str(data / "desk_events.parquet"), "at")
        assert refused.problem.startswith("row 8 has 2100-01-01 00:01:00, outside the times")
    assert "(2016-01-01 to 2099-12-31)" in refused.problem


def test_a_zoned_time_is_in_range_by_japans_clock_and_one_past_the_year_9999_is_named(tmp_path):
    """2016-01-01 00:00 in Japan is 2015-12-31 15:00 in UTC: read on Japan's clock, it is in
    range. A Parquet timestamp past the year 9999 (which Python's datetime cannot hold) is
    refused naming it, not in an OverflowError."""
    data = _at(datetime(2016, 1, 1, 0, 0)).write(tmp_path / "in")
    links = pq.read_table(data / "links.parquet")
    i = links.schema.get_field_index("linked_at")
    zoned = pc.assume_timezone(links.column(i), "Asia/Tokyo").cast(pa.timestamp("us", "UTC"))
    pq.write_table(links.set_column(i, "linked_at", zoned), data / "links.parquet")
    schema.validate(data)
    far = pa.array([253402300800 * 10**6 + 60 * 10**6] * links.num_rows, pa.timestamp("us"))
    pq.write_table(links.set_column(i, "linked_at", far), data / "links.parquet")
    refused = _refused(data)
    assert refused.problem.startswith("row 1 has 10000-01-01 00:01:00, outside the times")


# --- nanoseconds --------------------------------------------------------------------------


def test_nanosecond_times_and_dates_give_the_findings_microsecond_ones_give(tmp_path):
    """pandas writes every timestamp, a birth date too, in nanoseconds: the digits past the
    microsecond are dropped (before the Unix epoch too, not rounded up), and the scan of such
    files finds what the scan of the same times in microseconds finds."""
    d = _plain()
    d.residents[0]["birth_date"] = datetime(1969, 12, 31).date()
    data = d.write(tmp_path / "us")
    _run(data, tmp_path / "out-us")
    for table, column in (("links", "linked_at"), ("desk_events", "at")):
        t = pq.read_table(data / f"{table}.parquet")
        i = t.schema.get_field_index(column)
        ns = pc.add(t.column(i).cast(pa.timestamp("ns")), pa.scalar(999, pa.duration("ns")))
        pq.write_table(t.set_column(i, column, ns), data / f"{table}.parquet")
    residents = pq.read_table(data / "residents.parquet")
    i = residents.schema.get_field_index("birth_date")
    born = pa.array([-1] + [None] * (residents.num_rows - 1), pa.timestamp("ns"))
    pq.write_table(residents.set_column(i, "birth_date", born), data / "residents.parquet")
    loaded = schema.load(data)
    assert loaded["residents"].column("birth_date")[0].as_py().isoformat() == "1969-12-31"
    assert loaded["links"].column("linked_at")[0].as_py() == builders.DAY.replace(minute=2)
    _run(data, tmp_path / "out-ns")
    us = pq.read_table(tmp_path / "out-us" / "findings.parquet")
    ns = pq.read_table(tmp_path / "out-ns" / "findings.parquet")
    assert ns.to_pylist() == us.to_pylist()
    assert ns.num_rows == 1


# --- the report's timeline over midnight -------------------------------------------------


def test_a_timeline_over_midnight_dates_the_events_of_the_next_day(tmp_path):
    """A visit from 23:52 to past midnight: the events of the link's day show their time, the
    first of the next day its date too (it read 23:55, then 00:01, as if earlier)."""
    saved = builders.DAY
    builders.DAY = datetime(2022, 8, 1, 23, 50)
    try:
        d = Desk()
        family(d)
        d.event(0, "login")
        d.event(2, "card_read", resident="B")
        d.link("L2", "B", "ﾀﾅｶ ﾊﾅｺ", minute=5)
        d.event(11, "card_removed", resident="B")
        d.event(12, "logout")
        d.link("L1", "A", A_OWN, channel="self")
    finally:
        builders.DAY = saved
    _run(d.write(tmp_path / "in"), tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    events = html.split("<table class='events'>")[1].split("</table>")[0]
    cells = re.findall(r"<tr(?: class='hit')?><td>([^<]+)</td>", events)
    assert cells == ["23:50:00", "23:52:00", "23:55:00", "8月2日 00:01:00", "00:02:00"]


def test_a_timeline_dates_an_event_of_another_day_than_the_links_first():
    events = [{"at": datetime(2022, 8, 1, 23, 59, 59)}, {"at": datetime(2022, 8, 2, 0, 0, 1)}]
    assert report.clock_ja(datetime(2022, 8, 2, 0, 0, 1), events) == [
        "8月1日 23:59:59",
        "8月2日 00:00:01",
    ]
    assert report.clock_ja(datetime(2022, 8, 1, 23, 59), events) == [
        "23:59:59",
        "8月2日 00:00:01",
    ]


def test_duckdbs_query_searches_for_a_nul_wherever_no_other_check_refuses_one():
    """DuckDB's validation query skips the search for the byte in a column whose values or
    pattern already refuse it (`engine._refuses_nul`): a valid value with a NUL in it is
    refused there by that check, so the file still goes to schema, which names the NUL."""
    import duckdb

    from madoguchi.scan import engine

    valid = {
        schema.MUNICIPALITY_CODE: "131016",
        schema.ACCOUNT_HASH: "ab" * 32,
        schema.READING: "ヤマダ タロウ",
    }
    skipped = [spec for t in schema.TABLES.values() for spec in t if engine._refuses_nul(spec)]
    assert {s.name for s in skipped} == {
        "name_kana",
        "municipality_code",
        "programme",
        "account_hash",
        "channel",
        "event",
    }
    for spec in skipped:
        good = spec.values[0] if spec.values else valid[spec.pattern]
        for value in (good + "\x00", "\x00" + good, good[:2] + "\x00" + good[2:]):
            literal = "'" + value.replace("\x00", "' || chr(0) || '") + "'"
            if spec.values:
                allowed = ", ".join(f"'{v}'" for v in spec.values)
                sql = f"SELECT {literal} NOT IN ({allowed})"
            else:
                sql = f"SELECT {engine._unmatched_sql(literal, spec.pattern)}"
            assert duckdb.sql(sql).fetchall() == [(True,)], (spec.name, value)
    # RE2's "." matches a NUL: the account's last 4 is searched.
    assert not engine._refuses_nul(schema.Column("account_last4", schema.STR, pattern=schema.LAST4))


@pytest.mark.django_db
def test_the_pages_report_says_the_findings_not_shown_are_on_the_runs_page(tmp_path, monkeypatch):
    """A report the officials' pages serve: its readers have the run's page, not its files,
    so the note on the findings not shown points there."""
    from madoguchi.accounts.constants import Role
    from madoguchi.scans import report as pages_report
    from madoguchi.scans.models import ScanRun
    from tests import factories

    d = _plain()
    for i in range(3):
        d.link(f"S{i}", "C", "ｻｻｷ ｹﾝｼﾞ", channel="self")
    builders.record(d, tmp_path)
    monkeypatch.setattr(pages_report, "TIMELINE_LIMIT", 2)
    official = factories.staff(Role.CITY_OFFICIAL)
    html = pages_report.html(ScanRun.objects.get(), official)
    assert html.count("<div class='finding'>") == 2
    assert "ほかの 2 件（全 4 件のうち）はここに示していません。" in html
    assert f"全件は{report.EVERY_FINDING_ON_THE_PAGE}にあります" in html
    assert "findings.parquet" not in html
