"""A city's export keyed by the individual number (12 digits ending in its check digit: a
registry keyed by マイナンバー) was accepted, and the numbers written whole into findings.parquet,
report.html, the officials' findings (`resident_id`, `other_resident_id`), their reasoning and
the finding's page. The data rules never read, store or show an individual number: every id
column of the input refuses one, naming the file, column and row without the value, and
nothing is written (as an account number given for its hash is refused). On DuckDB's own check
of a Parquet file, in the bounded validation (CSV, other stored types) and on Spark
(tests/scan/test_spark.py) alike."""

import io
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from madoguchi import individualnumber
from madoguchi.scan import engine, schema
from madoguchi.scans.models import Finding, ScanRun
from tests.scan.builders import Desk
from tests.scan.test_null_words import as_csv


def _my_number(eleven: str) -> str:
    """An individual number: eleven digits and the check digit of the ordinance's rule (the
    digits weighted from the right, Pn × Qn, Qn = n + 1 up to n = 6, n - 5 after), written
    apart from `madoguchi.individualnumber` to check it."""
    digits = [int(c) for c in eleven]
    total = sum(digits[11 - n] * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    remainder = total % 11
    return eleven + str(0 if remainder <= 1 else 11 - remainder)


A_NUMBER = _my_number("12345678901")
B_NUMBER = _my_number("98765432109")
NOT_A_NUMBER = "123456789010"  # twelve digits, the wrong check digit (8 is)

ID_COLUMNS = [
    ("residents", "resident_id", 0),
    ("residents", "household_id", 1),
    ("links", "link_id", 1),
    ("links", "resident_id", 2),
    ("links", "terminal_id", 0),
    ("links", "staff_id", 2),
    ("desk_events", "terminal_id", 3),
    ("desk_events", "staff_id", 0),
    ("desk_events", "resident_id", 1),
    ("desk_events", "link_id", 2),
]


def _omission(a: str, b: str) -> Desk:
    """A logout omission (L3: A's link to B's account in B's session) between residents ``a``
    and ``b``."""
    d = Desk()
    d.resident(a, "ヤマダ タロウ", "H1")
    d.resident(b, "スズキ イチロウ", "H2")
    d.event(0, "login")
    d.event(1, "card_read", resident=a)
    d.link("L1", a, "ﾔﾏﾀﾞ ﾀﾛｳ", minute=2)
    d.event(8, "card_removed", resident=a)
    d.event(10, "card_read", resident=b)
    d.link("L2", b, "ｽｽﾞｷ ｲﾁﾛｳ", minute=11)
    d.link("L3", a, "ｽｽﾞｷ ｲﾁﾛｳ", minute=12)
    d.event(18, "card_removed", resident=b)
    d.event(50, "logout")
    return d


def test_the_individual_number_check_digit_is_the_ordinances():
    assert A_NUMBER == "123456789018"
    assert individualnumber.check_digit("12345678901") == "8"
    rng = random.Random(20)
    for _ in range(2000):
        number = _my_number(f"{rng.randrange(10**11):011d}")
        assert individualnumber.is_individual_number(number), number
        wrong = number[:11] + str((int(number[11]) + rng.randrange(1, 10)) % 10)
        assert not individualnumber.is_individual_number(wrong), wrong
    for other in (
        NOT_A_NUMBER,
        "12345678901",
        "1234567890180",
        "１２３４５６７８９０１０",  # full-width, the wrong check digit
        "1234 5678 9010",  # grouped, the wrong check digit
        "12345 678 9018",  # not the card's 4-4-4 grouping
        "1234_5678_9018",
        "R2345678901",
    ):
        assert not individualnumber.is_individual_number(other)
    # As the card prints it, as forms write it, in full-width digits: the same number.
    for written in (
        "1234 5678 9018",
        "1234-5678-9018",
        "1234 5678-9018",
        "１２３４５６７８９０１８",
    ):
        assert individualnumber.is_individual_number(written), written


def test_the_scan_does_not_keep_an_individual_number_given_as_a_resident_id(db, tmp_path):
    """The export keyed by the individual number: refused before anything is written to
    --out or the database, the refusal naming file, column and row but not the number."""
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command(
            "scan",
            "run",
            str(_omission(A_NUMBER, B_NUMBER).write(tmp_path / "data")),
            "--out",
            str(out),
            "--record",
            "--no-pdf",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    said = str(refused.value)
    assert "residents.parquet, column 'resident_id': row 1 has a value of 12 digits" in said
    assert "check digit of an individual number" in said
    assert A_NUMBER not in said
    assert B_NUMBER not in said
    written = (
        b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()) if out.exists() else b""
    )
    assert A_NUMBER.encode() not in written
    assert B_NUMBER.encode() not in written
    assert not Finding.objects.exists()
    assert not ScanRun.objects.exists()


def test_twelve_digit_ids_that_are_no_individual_number_are_scanned(db, tmp_path):
    """Twelve digits with another last digit (and fifteen, a city's 宛名番号) pass, on DuckDB's
    own check of the Parquet files too (not refused there and passed by schema)."""
    other = "987654321090"
    assert not individualnumber.is_individual_number(other)
    directory = _omission(NOT_A_NUMBER, other).write(tmp_path / "data")
    with engine.connect("duckdb", threads=1) as eng:
        for table, path in schema.files(directory).items():
            assert eng._valid_rows(table, path) is not None, table
    call_command(
        "scan",
        "run",
        str(directory),
        "--out",
        str(tmp_path / "out"),
        "--record",
        "--no-pdf",
        stdout=io.StringIO(),
    )
    assert Finding.objects.get(link_id="L3").resident_id == NOT_A_NUMBER


def _with(tmp_path, table: str, column: str, row: int, value, *, integers: bool = False):
    """A valid input whose ``table``'s ``column`` holds ``value`` at ``row`` (0-based); with
    ``integers`` the column stored as whole numbers (a registry's export of numeric ids)."""
    d = _omission("100000000001", "100000000002")
    tables = d.tables()
    t = tables[table]
    values = t.column(column).to_pylist()
    values[row] = value
    if integers:
        values = [None if v is None else int(v) if v.isdigit() else 1 for v in values]
        typ = pa.int64()
    else:
        typ = pa.string()
    tables[table] = t.set_column(t.schema.get_field_index(column), column, pa.array(values, typ))
    directory = tmp_path / "in"
    schema.write(directory, tables)
    return directory


@pytest.mark.parametrize(("table", "column", "row"), ID_COLUMNS)
def test_an_individual_number_in_any_id_column_is_refused_and_never_echoed(
    tmp_path, table, column, row
):
    directory = _with(tmp_path, table, column, row, B_NUMBER)
    expected = f"row {row + 1} has {schema.INDIVIDUAL_NUMBER_PROBLEM}"
    with pytest.raises(schema.InputError) as refused:
        schema.validate(directory)
    assert refused.value.file.endswith(f"{table}.parquet")
    assert (refused.value.column, refused.value.problem) == (column, expected)
    assert B_NUMBER not in str(refused.value)
    # DuckDB's one query over the Parquet file (scan run's default) finds it too.
    with engine.connect("duckdb", threads=1) as eng:
        assert eng._valid_rows(table, directory / f"{table}.parquet") is None
        with pytest.raises(schema.InputError) as by_duck:
            eng.validate(directory)
    assert str(by_duck.value) == str(refused.value)
    # As CSV (a spreadsheet's export), counting the header as row 1.
    with pytest.raises(schema.InputError) as from_csv:
        schema.validate(as_csv(directory))
    assert from_csv.value.problem == f"row {row + 2} has {schema.INDIVIDUAL_NUMBER_PROBLEM}"


def test_an_individual_number_stored_as_a_whole_number_is_refused(tmp_path):
    directory = _with(tmp_path, "links", "resident_id", 2, A_NUMBER, integers=True)
    assert pq.read_schema(directory / "links.parquet").field("resident_id").type == pa.int64()
    with engine.connect("duckdb", threads=1) as eng, pytest.raises(schema.InputError) as refused:
        eng.validate(directory)
    assert refused.value.column == "resident_id"
    assert refused.value.problem == f"row 3 has {schema.INDIVIDUAL_NUMBER_PROBLEM}"
    assert A_NUMBER not in str(refused.value)


EDGES = [
    A_NUMBER,
    B_NUMBER,
    "000000000000",
    "1234 5678 9018",
    "1234-5678-9018",
    "１２３４５６７８９０１８",
    NOT_A_NUMBER,
    "12345678901",
    "1234567890180",
    "１２３４５６７８９０１０",
    "1234 5678 9010",
    "12345 678 9018",
    "1234_5678_9018",
    "1234　5678　9018",  # full-width spaces: 18 bytes, not read
    "１２３４５６７８９０1８",  # 34 bytes
    "12345678901234",
    "12345678901８",
    " 23456789018",
    "+23456789018",
    "1234567890 8",
    "12345678901\n",
    "R12345678901",
    "",
    None,
]


def test_duckdb_and_the_bounded_validation_read_the_same_values_as_individual_numbers():
    """The engines' SQL (`schema.individual_number_sql`) and the bounded validation's
    (`individualnumber`) agree, value by value, on edge cases and random twelve digits."""
    rng = random.Random(7)
    values = EDGES + [f"{rng.randrange(10**12):012d}" for _ in range(3000)]
    expected = [v is not None and individualnumber.is_individual_number(v) for v in values]
    assert sum(expected) > 200  # about one in ten of the random ones
    assert expected[:6] == [True] * 6  # grouped and full-width too
    assert not any(expected[6 : len(EDGES)])
    with engine.connect("duckdb", threads=1) as eng:
        con = eng.con.con
        con.register("edge_values", pa.table({"v": pa.array(values, pa.string())}))
        got = con.execute(f"SELECT {schema.individual_number_sql('v')} FROM edge_values").fetchall()
    assert [bool(r[0]) for r in got] == expected
    first = schema._individual_numbers(pa.array(values, pa.string()))
    assert first == expected.index(True)
    assert schema._individual_numbers(pa.array(EDGES[6:], pa.string())) is None


def test_a_refused_run_leaves_no_output_behind(tmp_path):
    """scan run without --record: the output directory is not made."""
    out = tmp_path / "out"
    directory = _with(tmp_path, "desk_events", "staff_id", 0, A_NUMBER)
    with pytest.raises(CommandError, match="column 'staff_id': row 1 has a value of 12 digits"):
        call_command(
            "scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO()
        )
    assert not out.exists() or not any(out.iterdir())
