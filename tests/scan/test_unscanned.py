"""Links whose resident is not in ``residents`` are not scanned: the run says how many and
which (stdout, report, summary.json, the recorded run), counted from step (1)'s join; and
Parquet timestamps stored with a zone are read on Japan's clock, as the naive ones are."""

import io
import json
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from madoguchi.accounts.constants import Role
from madoguchi.scan import engine, schema
from madoguchi.scan import run as scan_run
from madoguchi.scans.models import ScanRun
from tests import factories
from tests.scan.test_files import _desk
from tests.scan.test_scans_app import run_url


def _orphaned(tmp_path):
    d = _desk()
    d.link("LZ9", "GONE", "ｲﾃﾝ ｻﾌﾞﾛｳ", channel="self")  # moved out before the export
    d.link("LZ1", "GONE2", "ｲﾃﾝ ｼﾛｳ", minute=40)
    return d.write(tmp_path / "in")


@pytest.mark.parametrize("parts", [1, 3])
def test_a_run_says_how_many_links_were_not_scanned_and_which(tmp_path, monkeypatch, parts):
    if parts > 1:
        monkeypatch.setattr(engine, "PART_LINKS", 3)  # 7 links: 3 partitions, split
    directory = _orphaned(tmp_path)
    result = scan_run.run(directory, tmp_path / "out", pdf=False, progress=None, threads=2)
    assert result.summary.unscanned == 2
    assert result.summary.unscanned_examples == ["LZ1", "LZ9"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["unscanned_links"] == {"count": 2, "examples": ["LZ1", "LZ9"]}
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "紐付け 2 件は点検していません" in html
    assert "LZ1、LZ9" in html


def test_a_complete_input_reports_nothing_unscanned_and_the_same_findings(tmp_path):
    directory = _desk().write(tmp_path / "in")
    result = scan_run.run(directory, tmp_path / "out", pdf=False, progress=None, threads=2)
    assert result.summary.unscanned == 0
    assert result.findings.column("link_id").to_pylist() == ["L3", "L4"]
    assert "点検していません" not in (tmp_path / "out" / "report.html").read_text("utf-8")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["unscanned_links"] == {"count": 0, "examples": []}


@pytest.mark.database
def test_the_command_and_the_officials_page_say_links_were_not_scanned(client, db, tmp_path):
    stdout = io.StringIO()
    args = [str(_orphaned(tmp_path)), "--out", str(tmp_path / "out"), "--record", "--no-pdf"]
    call_command("scan", "run", *args, stdout=stdout, stderr=io.StringIO())
    said = stdout.getvalue()
    assert "2 links NOT scanned: their resident_id is not in residents (e.g. LZ1, LZ9)" in said
    run = ScanRun.objects.get()
    assert run.rows["links_unscanned"] == 2
    # The operators see how many (every municipality's); an official that some were not.
    from madoguchi.accounts.models import User

    client.force_login(User.objects.create_superuser("root-unscanned", password=None))
    page = client.get(run_url(run.pk)).content.decode()
    assert "紐付け 2 件は点検していません" in page
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    page = client.get(run_url(run.pk)).content.decode()
    assert "点検していない紐付けがあります" in page
    assert "紐付け 2 件" not in page


def _zoned(directory, zone):
    """The input's three tables with every timestamp stored as the same wall-clock time in
    Japan, in ``zone`` (the instant the naive time means in Japan)."""
    for name in ("links", "desk_events"):
        path = directory / f"{name}.parquet"
        table = pq.read_table(path)
        col = "linked_at" if name == "links" else "at"
        i = table.schema.get_field_index(col)
        zoned = pc.assume_timezone(table.column(col), "Asia/Tokyo").cast(pa.timestamp("us", zone))
        pq.write_table(table.set_column(i, pa.field(col, zoned.type), zoned), path)


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "UTC"])
def test_zoned_timestamps_read_as_japans_wall_clock(tmp_path, zone):
    directory = _desk().write(tmp_path / "in")
    naive = schema.load(directory)
    _zoned(directory, zone)
    loaded = schema.load(directory)
    assert loaded["links"].column("linked_at").type == pa.timestamp("us")
    assert loaded["links"].column("linked_at") == naive["links"].column("linked_at")
    assert loaded["desk_events"].column("at") == naive["desk_events"].column("at")
    assert loaded["desk_events"].column("at")[0].as_py() == datetime(2022, 8, 1, 9, 0)
    result = scan_run.run(directory, tmp_path / "out", pdf=False, progress=None, threads=2)
    assert result.findings.column("link_id").to_pylist() == ["L3", "L4"]
    assert result.timelines["L3"][0]["at"] == datetime(2022, 8, 1, 9, 0)
    with engine.connect("duckdb", threads=2) as duck:
        files = duck.register_files(directory)
        assert files["desk_events"].to_pyarrow().column("at") == naive["desk_events"].column("at")


def test_the_command_prints_the_whole_runs_time_with_the_pdf(tmp_path, monkeypatch):
    """`scan run` printed the scan's time alone ("in 0.4 s") though the PDF written after it
    can take longer than the scan: a run that took a minute said a second. A fake clock moves
    100 s while the PDF is written; the scan itself takes none of the fake clock's time."""
    from types import SimpleNamespace

    from madoguchi.scan import report

    clock = [0.0]
    monkeypatch.setattr(scan_run, "time", SimpleNamespace(perf_counter=lambda: clock[0]))

    def slow_pdf(html):
        clock[0] += 100.0
        return b"%PDF-1.7 fake"

    monkeypatch.setattr(report, "to_pdf", slow_pdf)
    stdout = io.StringIO()
    args = [str(_desk().write(tmp_path / "in")), "--out", str(tmp_path / "out")]
    call_command("scan", "run", *args, stdout=stdout, stderr=io.StringIO())
    assert "findings (" in stdout.getvalue()
    assert " in 100.0 s (scan 0.0 s, reports 100.0 s); wrote " in stdout.getvalue()


def test_a_finding_whose_resident_is_not_in_residents_says_its_holder_could_not_be_checked(
    tmp_path,
):
    """Only the desk rule flags such a link (a commit with nobody signed in): findings.parquet
    held a null `holder_check` where the output's columns say 3, unavailable (the database
    kept 3), and the report said 「…は GONE2 と名義不明です。」."""
    directory = _orphaned(tmp_path)
    scan_run.run(directory, tmp_path / "out", pdf=False, progress=None)
    found = pq.read_table(tmp_path / "out" / "findings.parquet").to_pylist()
    row = next(r for r in found if r["link_id"] == "LZ1")
    assert row["cause"] == "lent_terminal"
    assert row["holder_check"] == 3
    assert all(r["holder_check"] is not None for r in found)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "を住民 GONE2 のお名前と照合できませんでした。" in html
    assert "と名義不明です" not in html
