"""Probe D, side doors round 22 (issue 13, the forensic scan): a national analyst scanning
many cities' exports, then an official reading the findings. Each test asserts the right
behaviour and fails on main as found."""

import io
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema
from madoguchi.scans.models import ScanRun
from tests.scan import builders
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"


def _run(data, out, *options):
    call_command(
        "scan",
        "run",
        str(data),
        "--out",
        str(out),
        "--no-pdf",
        *options,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def _refusal(data, out, *options):
    """`scan run`'s refusal (its one line), or None when the run wrote its files."""
    try:
        _run(data, out, *options)
    except CommandError as refused:
        return str(refused)
    return None


def _plain(tmp_path):
    """One proper visit of A (L1, A's own account) and one of B with a typed wrong ID (L2)."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.visit(10, "B", [("L2", "ﾀﾅｶ ﾊﾅｺ")])
    d.event(30, "logout")
    return d


# --- 2. the report's findings beyond the limit ----------------------------------------------


def test_the_report_says_when_findings_beyond_the_limit_are_not_shown(tmp_path):
    """Five self-service typed wrong IDs and `--timeline-limit 2`: the report's section 3
    lists two of them and says nothing of the other three (its note on the limit counts only
    findings at a terminal), so an official reading it takes two for all. It should say that
    not every finding is shown and where the rest are."""
    d = _plain(tmp_path)
    for i in range(5):
        d.link(f"S{i}", "C", "ｻｻｷ ｹﾝｼﾞ", channel="self")
    data = d.write(tmp_path / "data")
    out = tmp_path / "out"
    _run(data, out, "--timeline-limit", "2")
    findings = pq.read_table(out / "findings.parquet")
    assert findings.num_rows == 6  # L2 and the five self links
    html = (out / "report.html").read_text()
    assert html.count("<div class='finding'>") == 2
    assert "findings.parquet" in html  # where the findings not shown are


# --- 3. nanosecond timestamps ----------------------------------------------------------------


@pytest.mark.parametrize("zone", [None, "Asia/Tokyo"])
def test_nanosecond_timestamps_are_read_to_the_microsecond(tmp_path, zone):
    """pandas writes timestamps in nanoseconds, and a desk log from SQL Server's datetime2(7)
    keeps 100 ns. docs/scan.md: timestamps in nanoseconds are read, and a time's digits beyond
    the microsecond are dropped (as text). A Parquet `at` of 09:00:00.001234567 ended
    `scan run` in Arrow's bare `Casting from timestamp[ns] to timestamp[us] would lose data:
    1659344400001234567`: no file, no column, no row."""
    data = _plain(tmp_path).write(tmp_path / "data")
    ev = pq.read_table(data / "desk_events.parquet")
    at = pc.add(ev.column("at").cast(pa.timestamp("ns")), pa.scalar(1234567, pa.duration("ns")))
    if zone:
        at = pc.assume_timezone(at, zone)
    pq.write_table(ev.set_column(1, "at", at), data / "desk_events.parquet")
    loaded = schema.load(data)["desk_events"].column("at").to_pylist()
    assert loaded[0] == datetime(2022, 8, 1, 9, 0, 0, 1234)
    _run(data, tmp_path / "out")
    assert (tmp_path / "out" / "findings.parquet").exists()


# --- 4. an account number with other separators ------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["0005/001/1/1234567", "0005.001.1.1234567", "(0005)001-1234567", "0005_001_1_1234567"],
)
def test_an_account_number_with_other_separators_is_refused_and_not_echoed(tmp_path, number):
    """Round 19 refused an account number given for its hash when written with spaces or
    hyphens. The same bank, branch, type and number separated by slashes, points, brackets or
    underscores (as other systems export them) passes: stored whole in findings.parquet, the
    officials' findings and the cases opened from them. A value of digits and punctuation
    alone is no keyed hash either."""
    d = _plain(tmp_path)
    d.links[1]["account_hash"] = number
    data = d.write(tmp_path / "data")
    with pytest.raises(schema.InputError) as refused:
        schema.validate(data)
    assert "column 'account_hash': row 2" in str(refused.value)
    assert "1234567" not in str(refused.value)


# --- 5. a NUL in a holder's name and --record --------------------------------------------


@pytest.mark.django_db
def test_a_nul_in_a_holders_name_does_not_end_record_in_a_database_error(tmp_path):
    """A NUL byte in holder_kana (a fixed-width export padded with NULs) passes the
    validation; `scan run --record` then writes findings.parquet and the report and ends in
    PostgreSQL's `DataError: PostgreSQL text fields cannot contain NUL (0x00) bytes` with a
    traceback and nothing recorded (as an ID over 100 characters did before the forty-third
    session). It should be refused in the validation, naming the file, column and row, with
    nothing written, or recorded."""
    d = _plain(tmp_path)
    d.links[1]["holder_kana"] = "ﾀﾅｶ\x00ﾊﾅｺ"
    data = d.write(tmp_path / "data")
    out = tmp_path / "out"
    refused = _refusal(data, out, "--record")
    if refused is not None:
        assert "holder_kana" in refused
        assert not out.exists() or not any(out.iterdir())
        return
    assert ScanRun.objects.count() == 1


# --- 6. a link dated before the eras or at the end of time -------------------------------


def _dated(tmp_path, day, minutes):
    """A desk log starting at ``day``: A's own link, then B's typed wrong ID (a finding with a
    timeline) ``minutes`` after the login."""
    saved = builders.DAY
    builders.DAY = day
    try:
        d = Desk()
        family(d)
        d.event(0, "login")
        d.event(1, "card_read", resident="A")
        d.link("L1", "A", A_OWN, minute=2)
        d.event(3, "card_read", resident="B")
        d.link("L2", "B", "ﾀﾅｶ ﾊﾅｺ", minute=minutes)
        return d.write(tmp_path / "data")
    finally:
        builders.DAY = saved


@pytest.mark.parametrize(
    ("day", "minutes"),
    [
        (datetime(1026, 8, 1, 9, 0), 5),  # a slip of the keys for 2026
        (datetime(9999, 12, 31, 23, 40), 15),  # a legacy system's "no date" sentinel
    ],
)
def test_a_link_dated_outside_the_reports_calendar_is_one_line_naming_it(tmp_path, day, minutes):
    """A link dated 1026-08-01 (for 2026) passes the validation and the whole scan, then
    ends the run in `1026-08-01 is before the Gregorian calendar was adopted in Japan.` (the
    report's era date), naming no file, column or link; one at 9999-12-31 23:55 ends it in a
    traceback (`OverflowError: date value out of range`, the timeline's window). Either is
    to be refused in the validation naming the file and the column (or reported as it is)."""
    data = _dated(tmp_path, day, minutes)
    out = tmp_path / "out"
    refused = _refusal(data, out)
    if refused is not None:
        assert "links.parquet" in refused
        assert "linked_at" in refused
        assert not out.exists() or not any(out.iterdir())
        return
    assert (out / "report.html").exists()


# --- 8. a reading that is the name in kanji ----------------------------------------------


def test_a_reading_written_in_kanji_is_refused(tmp_path):
    """residents.name_kana is the certified reading (振り仮名). An export that fills it with the
    name in kanji (the name_kanji column's content: 山田 太郎) is scanned without a word, and
    the name check calls every kana holder `close` to it: on 20,000 generated links at rate
    0.01 with name_kanji copied into name_kana, typed-ID recall fell from 1.0 to 0.16 and six
    family accounts were reported as mis-links. A reading holds no kanji: refused, naming the
    file, the column and the row."""
    d = _plain(tmp_path)
    d.residents[2]["name_kana"] = "鈴木 一郎"
    data = d.write(tmp_path / "data")
    with pytest.raises(schema.InputError) as refused:
        schema.validate(data)
    assert "column 'name_kana': row 3" in str(refused.value)
