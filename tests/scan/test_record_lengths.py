"""IDs longer than a recorded run's columns, and an input path of any length: `scan run
--record` wrote findings.parquet and the report, then ended in PostgreSQL's DataError
('value too long for type character varying(100)'), nothing recorded. An ID is at most
``schema.ID_LENGTH`` characters (the input format), refused in validation before anything is
written; the paths are stored whole."""

import io

import pyarrow.csv as pacsv
import pytest
from django.core.management import CommandError, call_command

from madoguchi.scan import engine, schema
from madoguchi.scans.models import Finding, ScanRun
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"
LONG = "x" * (schema.ID_LENGTH + 20)


def _flagged_input(link_id="L3", card_resident="B"):
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident=card_resident)
    d.link(link_id, "A", B_OWN, minute=12)  # a logout omission
    d.event(60, "logout")
    return d


def _run(data, out, *options):
    call_command(
        "scan", "run", str(data), "--out", str(out), "--no-pdf", *options,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("where", "file", "column", "row"),
    [
        ({"link_id": "L" + LONG}, "links.parquet", "link_id", 2),
        ({"card_resident": "R" + LONG}, "desk_events.parquet", "resident_id", 5),
    ],
)
def test_an_id_over_the_limit_is_refused_before_anything_is_written(
    tmp_path, where, file, column, row
):
    """A 121-character link_id, or a card read's resident (the finding's other resident):
    one sentence naming the file, the column, the row, the length and the limit, never the
    value; no file, no run."""
    data = _flagged_input(**where).write(tmp_path / "data")
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        _run(data, out, "--record")
    message = str(refused.value)
    assert message == (
        f"{data / file}, column '{column}': row {row} has a value of 121 characters (not "
        f"shown): an ID is at most {schema.ID_LENGTH} characters (a recorded run "
        "keeps each in a column of that length): give the register's own ID, not a "
        "description or several joined"
    )
    assert not out.exists() or not any(out.iterdir())
    assert not ScanRun.objects.exists()


def test_an_id_of_the_limit_is_scanned(tmp_path):
    """100 characters (of two bytes each in UTF-8: the byte count alone does not decide)."""
    link_id = "リ" * schema.ID_LENGTH
    data = _flagged_input(link_id=link_id).write(tmp_path / "data")
    _run(data, tmp_path / "out")
    assert (tmp_path / "out" / "findings.parquet").exists()


def test_a_long_id_in_csv_is_refused_by_its_spreadsheet_row(tmp_path):
    """A CSV is validated by ``schema``'s batches: the same sentence, the row as a spreadsheet
    counts it (the header is row 1)."""
    d = _flagged_input(link_id="L" + LONG)
    data = tmp_path / "data"
    data.mkdir()
    for name, table in d.tables().items():
        pacsv.write_csv(table, data / f"{name}.csv")
    with pytest.raises(schema.InputError, match=r"links\.csv, column 'link_id': row 3 has"):
        schema.validate(data)


def test_duckdb_validation_leaves_a_long_id_to_schema(tmp_path):
    """DuckDB's one query over a valid Parquet file counts IDs over the limit (their bytes
    first): such a file is not valid there, and ``schema`` names the row."""
    data = _flagged_input(link_id="L" + LONG).write(tmp_path / "data")
    with engine.connect("duckdb", threads=1) as eng:
        assert eng._valid_rows("links", data / "links.parquet") is None
        assert eng._valid_rows("residents", data / "residents.parquet") == 4


@pytest.mark.django_db
def test_a_run_from_a_deep_input_path_is_recorded(tmp_path):
    """An input directory whose path is over 500 characters (the column was 500): recorded,
    the path whole."""
    deep = tmp_path
    for part in ("a" * 200, "b" * 200, "c" * 120):
        deep = deep / part
    data = _flagged_input().write(deep)
    _run(data, tmp_path / "out", "--record")
    run = ScanRun.objects.get()
    assert run.input_dir.endswith("c" * 120)
    assert len(run.input_dir) > 520
    assert Finding.objects.filter(run=run).count() == 1
