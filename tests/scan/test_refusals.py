"""The scan's refusals as a city official or an analyst meets them: one plain sentence naming
the file (and column), before anything runs, nothing written."""

import io
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema

MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))


def _as_csv(directory, table):
    t = pq.read_table(directory / f"{table}.parquet")
    (directory / f"{table}.parquet").unlink()
    pacsv.write_csv(t, directory / f"{table}.csv")
    return directory / f"{table}.csv"


def test_the_command_line_prints_the_sentence_alone_not_the_exception_name(good, tmp_path):
    (good / "links.parquet").unlink()
    done = subprocess.run(
        [MADOGUCHI, "scan", "run", str(good), "--out", str(tmp_path / "out")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == f"{good / 'links.parquet'}: missing: give links.parquet or links.csv\n"
    assert not (tmp_path / "out").exists()


def test_an_output_directory_holding_files_is_refused_before_anything_runs(good, tmp_path):
    out = tmp_path / "out"
    call_command("scan", "run", str(good), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(CommandError, match=r"out: already holds findings.parquet, report.html"):
        call_command("scan", "run", str(good), "--out", str(out), "--no-pdf")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    # --replace replaces a scan's own files, and nothing else; an earlier run's report.pdf that
    # this run does not write (--no-pdf) is removed, not left beside the new findings as theirs.
    (out / "report.pdf").write_bytes(b"%PDF- an earlier run's")
    call_command(
        "scan", "run", str(good), "--out", str(out), "--no-pdf", "--replace", stdout=io.StringIO()
    )
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} != before
    assert not (out / "report.pdf").exists()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match=r"out: holds files no scan wrote \(findings.parquet"):
        call_command("scan", "run", str(good), "--out", str(out), "--replace")
    # The input directory given as the output is refused too (it holds the tables).
    with pytest.raises(CommandError, match=r"in: already holds desk_events.parquet"):
        call_command("scan", "run", str(good), "--out", str(good))
    empty = tmp_path / "empty"
    empty.mkdir()
    call_command("scan", "run", str(good), "--out", str(empty), "--no-pdf", stdout=io.StringIO())
    assert (empty / "findings.parquet").exists()


def test_an_empty_csv_and_a_csv_with_only_its_header_are_refused(good, tmp_path):
    """A file of 0 bytes has no header: refused for every table. A header alone is refused for
    links and residents; desk_events may be empty (tests/scan/test_empty_desk_log.py)."""
    path = _as_csv(good, "desk_events")
    kept = path.read_bytes()
    path.write_bytes(b"")
    with pytest.raises(schema.InputError, match=r"desk_events.csv: is empty: a CSV table needs"):
        schema.validate(good)
    path.write_bytes(kept)
    path = _as_csv(good, "links")
    header = path.read_text().splitlines()[0]
    path.write_text(header + "\n")
    with pytest.raises(schema.InputError, match=r"links.csv: has no rows: residents and links"):
        schema.validate(good)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"links.csv: has no rows"):
        call_command("scan", "run", str(good), "--out", str(out))
    assert not out.exists()
    (good / "residents.parquet").write_bytes(b"")
    with pytest.raises(schema.InputError, match=r"residents.parquet: is empty \(0 bytes\)"):
        schema.validate(good)


def test_a_header_in_japanese_is_named_in_the_error(good):
    path = _as_csv(good, "residents")
    lines = path.read_text().splitlines()
    japanese = '"住民ID","氏名カナ","氏名漢字","生年月日","世帯ID","市区町村コード"'
    path.write_text("\n".join([japanese, *lines[1:]]) + "\n", encoding="utf-8-sig")
    with pytest.raises(
        schema.InputError,
        match=r"residents.csv, column 'resident_id': missing column \(the file has '住民ID', "
        r"'氏名カナ',",
    ):
        schema.validate(good)


def test_a_csv_in_shift_jis_after_a_start_in_utf8_is_refused_as_not_utf8(good, monkeypatch):
    """A Shift_JIS file is read (tests/scan/test_exports.py), but one whose start is UTF-8
    (here its ASCII header alone is read to tell) is read as UTF-8: the row with the first byte
    that is not, that it reads as Shift_JIS, and how to save it instead."""
    path = _as_csv(good, "residents")
    text = path.read_text()
    path.write_bytes(text.encode("cp932"))
    monkeypatch.setattr(schema, "SNIFF_BYTES", len(text.splitlines()[0]))
    row = next(i for i, line in enumerate(text.splitlines(), 1) if not line.isascii())
    with pytest.raises(schema.InputError) as refused:
        schema.validate(good)
    said = str(refused.value)
    assert said.startswith(f"{path}: is not UTF-8 text: row {row} holds the byte 0x"), said
    assert "as Shift_JIS does" in said
    assert 'save it as UTF-8 (in Excel, "CSV UTF-8' in said
    # A file broken otherwise (not Shift_JIS either) is not said to be Shift_JIS.
    path.write_bytes(text.encode("utf-8").replace(b"\xe3", b"\x81\x7f", 1))  # in neither
    with pytest.raises(schema.InputError) as refused:
        schema.validate(good)
    assert "row" in str(refused.value)
    assert "Shift_JIS" not in str(refused.value)


def test_a_parquet_row_is_counted_from_one_and_a_csv_row_counts_the_header(good):
    t = pq.read_table(good / "residents.parquet")
    kana = t.column("name_kana").to_pylist()
    kana[2] = ""
    pq.write_table(t.set_column(1, "name_kana", [kana]), good / "residents.parquet")
    with pytest.raises(schema.InputError, match=r"residents.parquet, column 'name_kana': row 3 "):
        schema.validate(good)
    _as_csv(good, "residents")
    with pytest.raises(schema.InputError, match=r"residents.csv, column 'name_kana': row 4 "):
        schema.validate(good)


def test_an_input_that_does_not_exist_or_is_a_file_says_which(tmp_path):
    with pytest.raises(schema.InputError, match=r"nowhere: does not exist"):
        schema.validate(tmp_path / "nowhere")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(schema.InputError, match=r"a-file: is a file, not a directory"):
        schema.validate(tmp_path / "a-file")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_column_named_twice_is_refused_naming_it(good, tmp_path, fmt):
    """A second `link_id` (or a corrected `name_kana` pasted beside the first): a Parquet file
    ended in a KeyError, a CSV's first column was read without a word."""
    t = pq.read_table(good / "links.parquet")
    doubled = pa.Table.from_arrays(
        [*t.columns, t.column("link_id")], names=[*t.column_names, "link_id"]
    )
    (good / "links.parquet").unlink()
    if fmt == "parquet":
        pq.write_table(doubled, good / "links.parquet")
    else:
        pacsv.write_csv(doubled, good / "links.csv")
    column = len(t.column_names) + 1
    said = (
        f"links.{fmt}, column 'link_id': is named 2 times in the header (columns 1, {column}): "
        "a table names each column once"
    )
    with pytest.raises(schema.InputError, match=re.escape(said)):
        schema.validate(good)
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=re.escape(said)):
        call_command("scan", "run", str(good), "--out", str(out), "--no-pdf")
    assert not out.exists()


def test_a_table_saved_as_a_workbook_is_named_with_how_to_save_it(good, tmp_path):
    """links.xlsx beside the others: refused as if the table were missing, with no word of the
    workbook right there."""
    (good / "links.parquet").unlink()
    (good / "links.xlsx").write_bytes(b"PK\x03\x04 a workbook")
    with pytest.raises(schema.InputError) as refused:
        schema.validate(good)
    assert str(refused.value) == (
        f"{good / 'links.parquet'}: missing: give links.parquet or links.csv; links.xlsx is a "
        "spreadsheet's own file, which the scan does not read: save it as links.csv (in Excel, "
        '"CSV UTF-8 (コンマ区切り)")'
    )


def test_an_output_under_a_place_nothing_can_be_made_in_is_refused_before_the_run(good):
    """`--out /proc/xx` passed the check (root's access() says /proc is writable): the whole
    scan ran, then failed at its end."""
    with pytest.raises(CommandError, match=r"--out /proc/madoguchi-out: cannot be written"):
        call_command("scan", "run", str(good), "--out", "/proc/madoguchi-out", "--no-pdf")
