"""Tables as a city's own systems export them: CSV in Shift_JIS, with the empty rows a
spreadsheet leaves below a table, and values holding a line break; what is unambiguous is read
as the same tables, what is not is one error naming the file and the row."""

import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import schema
from tests.scan.test_files import _desk


def excel_csv(
    table: pa.Table, encoding: str = "utf-8", blank_rows: int = 0, end: str = "\r\n"
) -> bytes:
    """``table`` as a spreadsheet saves it: rows ended by ``end`` (CRLF), every value quoted,
    then ``blank_rows`` rows of commas alone."""
    out = io.BytesIO()
    pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="all_valid"))
    text = out.getvalue().decode().replace("\n", end)
    text += ("," * (table.num_columns - 1) + end) * blank_rows
    return text.encode(encoding)


def _exported(tmp_path, encoding="utf-8", blank_rows=0):
    """The hand-made input (a logout omission L3, a typed wrong ID L4) as parquet, and the same
    tables exported as CSV."""
    parquet = _desk().write(tmp_path / "parquet")
    exported = tmp_path / "csv"
    exported.mkdir()
    for name, table in schema.load(parquet).items():
        (exported / f"{name}.csv").write_bytes(excel_csv(table, encoding, blank_rows))
    return parquet, exported


def _findings(directory, out):
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    import pyarrow.parquet as pq

    return pq.read_table(out / "findings.parquet").drop_columns(["score"]).to_pylist()


def test_a_shift_jis_export_with_empty_rows_below_reads_as_the_same_tables(tmp_path):
    """A Japanese Excel's plain "CSV (コンマ区切り)" is Shift_JIS (cp932), and a table whose
    cells were once formatted is saved with rows of commas below it: the same tables, the same
    findings."""
    parquet, exported = _exported(tmp_path, encoding="cp932", blank_rows=3)
    assert schema.csv_encoding(exported / "residents.csv") == schema.SHIFT_JIS
    want = schema.load(parquet)
    got = schema.load(exported)
    for name, table in want.items():
        assert got[name].to_pylist() == table.to_pylist(), name
    found = _findings(exported, tmp_path / "out")
    assert {(r["link_id"], r["cause"]) for r in found} == {
        ("L3", "logout_omission"),
        ("L4", "typed_wrong_id"),
    }
    assert found == _findings(parquet, tmp_path / "out-parquet")


def test_an_empty_row_with_rows_after_it_is_refused_naming_it(tmp_path):
    _, exported = _exported(tmp_path, blank_rows=1)
    path = exported / "links.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines.insert(2, lines.pop(-2))  # the row of commas after the first link
    path.write_bytes(b"\r\n".join(lines))
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(exported), "--out", str(out), "--no-pdf")
    assert str(refused.value) == (
        f"{path}: row 3 is empty (every column) and rows with values follow it: delete it "
        "(only empty rows at the end of the file are left out)"
    )
    assert not out.exists()


def _half_width_only(tmp_path):
    """A residents table whose only text beyond ASCII is half-width kana in pairs: read as
    Shift_JIS or as EUC-JP alike."""
    directory = tmp_path / "in"
    directory.mkdir()
    residents = pa.table(
        {
            "resident_id": ["A"],
            "name_kana": ["ｱｲ ｳｴ"],
            "name_kanji": [None],
            "birth_date": [None],
            "household_id": ["H1"],
            "municipality_code": ["131016"],
        },
        schema=schema.arrow_schema("residents")
        .remove(3)
        .insert(3, pa.field("birth_date", pa.string())),
    )
    path = directory / "residents.csv"
    path.write_bytes(excel_csv(residents, "cp932"))
    return path


def test_a_file_that_reads_as_shift_jis_and_as_euc_jp_alike_is_refused(tmp_path):
    path = _half_width_only(tmp_path)
    assert schema.csv_encoding(path) == "utf-8-sig"
    with pytest.raises(schema.InputError) as refused:
        schema.validate_table(path, "residents")
    assert str(refused.value) == (
        f"{path}: is not UTF-8 text: row 2 holds the byte 0xb1, and its start reads as "
        "Shift_JIS and as EUC-JP alike (half-width kana only?), so which is not known: save it "
        'as UTF-8 (in Excel, "CSV UTF-8 (コンマ区切り)")'
    )


def test_a_shift_jis_file_with_a_byte_it_has_not_further_on_names_its_row(tmp_path, monkeypatch):
    _, exported = _exported(tmp_path, encoding="cp932")
    path = exported / "residents.csv"
    head = path.read_bytes()
    path.write_bytes(head + b'"X9","\x81 ","","","H9","131016"\r\n')
    monkeypatch.setattr(schema, "SNIFF_BYTES", len(head))  # the bad byte past the start read
    rows = len(head.split(b"\r\n"))
    with pytest.raises(schema.InputError) as refused:
        schema.validate_table(path, "residents")
    assert str(refused.value) == (
        f"{path}: is read as Shift_JIS (its start is), but row {rows} holds the byte 0x81 "
        'that is part of no Shift_JIS character: save it as UTF-8 (in Excel, "CSV UTF-8 '
        '(コンマ区切り)")'
    )


def test_a_value_holding_a_line_break_is_one_value_wherever_the_file_is_cut(tmp_path, monkeypatch):
    """A spreadsheet cell of two lines is saved quoted, its line break inside the quotes: read
    as one value even where the CSV is read block by block and a block ends inside one."""
    n = 200
    residents = pa.table(
        {
            "resident_id": [f"R{i}" for i in range(n)],
            "name_kana": ["ヤマダ タロウ"] * n,
            "name_kanji": ["山田\n太郎", "山田,\r\n太郎"] * (n // 2),
            "birth_date": [None] * n,
            "household_id": [f"H{i}" for i in range(n)],
            "municipality_code": ["131016"] * n,
        },
        schema=schema.arrow_schema("residents"),
    )
    path = tmp_path / "residents.csv"
    path.write_bytes(excel_csv(residents, end="\n"))
    monkeypatch.setattr(schema, "CSV_BLOCK_BYTES", 1000)  # some 15 rows a block
    got = pa.Table.from_batches(list(schema.batches(path, "residents")))
    assert got.to_pylist() == residents.to_pylist()


def _refused_birth_date(tmp_path, written):
    """The refusal of an export whose third resident row was born on `written`."""
    parquet, exported = _exported(tmp_path)
    residents = schema.load(parquet)["residents"]
    born = pa.array([None, written] + [None] * (residents.num_rows - 2), pa.string())
    residents = residents.set_column(3, "birth_date", born)
    (exported / "residents.csv").write_bytes(excel_csv(residents))
    with pytest.raises(schema.InputError) as refused:
        schema.validate(exported)
    return str(refused.value), exported


@pytest.mark.parametrize(
    ("written", "western"),
    [
        ("令和5年4月1日", "2023-04-01"),
        ("R5.4.1", "2023-04-01"),
        ("平成元年1月8日", "1989-01-08"),
        ("S50.12.31", "1975-12-31"),
        # read by the one reading of era dates the desk uses (`era.parse_date`)
        ("明治44年5月28日", "1911-05-28"),
        ("M44.5.28", "1911-05-28"),
        # the era's first kanji, and kanji numerals as a family register writes a date
        ("昭55.4.1", "1980-04-01"),
        ("令元.5.1", "2019-05-01"),
        ("昭和五十年九月三十日", "1975-09-30"),
    ],
)
def test_a_date_in_a_japanese_era_says_the_same_date_in_the_western_calendar(
    tmp_path, written, western
):
    refused, exported = _refused_birth_date(tmp_path, written)
    assert refused == (
        f"{exported / 'residents.csv'}, column 'birth_date': row 3 has {written!r}, not a date "
        "(YYYY-MM-DD); it is a date in a Japanese era (和暦): write it in the Western calendar "
        f"({written!r} is {western})"
    )


@pytest.mark.parametrize(
    "written", ["S65.1.8", "平成31年5月1日", "R元.4.30", "昭和六十五年一月八日"]
)
def test_a_japanese_era_date_that_is_no_day_of_its_era_says_so(tmp_path, written):
    """昭和 ended on 64年1月7日: S65.1.8 was said to be 1990-01-08, which is 平成2年."""
    refused, _ = _refused_birth_date(tmp_path, written)
    assert refused.endswith(
        f"it is written as a date in a Japanese era (和暦), but {written!r} is no day of that "
        "era: write the date in the Western calendar"
    )


@pytest.mark.parametrize("name", ["desk_events.parquet", "desk_events"])
def test_a_table_written_in_parts_is_refused_saying_to_make_it_one_file(tmp_path, name):
    """Spark writes a table as a directory of parts (``desk_events.parquet/part-….parquet``),
    pandas' ``partition_cols`` as ``desk_events/…``: refused naming the directory, nothing
    written (before, Arrow's "is a directory", or the table said to be missing)."""
    import pyarrow.parquet as pq

    directory = _desk().write(tmp_path / "in")
    events = pq.read_table(directory / "desk_events.parquet")
    (directory / "desk_events.parquet").unlink()
    parts = directory / name
    parts.mkdir()
    pq.write_table(events.slice(0, 3), parts / "part-00000.parquet")
    pq.write_table(events.slice(3), parts / "part-00001.parquet")
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf")
    assert str(refused.value).startswith(
        f"{parts}: is a directory (a table written in parts, as Spark or pandas write one), "
        "not one file: the scan reads each table from one file; write its parts into one "
        f"desk_events.parquet (e.g. in DuckDB: COPY (FROM '{name}/*.parquet') TO "
    )
    assert not out.exists()
