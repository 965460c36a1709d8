"""Times and dates as a city's tools write them in CSV: Excel's ``yyyy-m-d h:mm:ss`` (one digit
for the month, the day or the hour), SQL Server's ``datetime2(7)`` (7 digits of fraction). Read
to the microsecond, as Spark reads them; anything else that is not a time is one error naming the
file, the column and the row."""

import io
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from madoguchi.scan import schema
from tests.scan.test_exports import excel_csv
from tests.scan.test_files import _desk

SHAPES = {
    # Excel's custom format yyyy-m-d h:mm:ss: one digit for the month and the hour.
    "excel": lambda t: f"{t.year}-{t.month}-{t.day:02d} {t.hour}:{t.minute:02d}:{t.second:02d}",
    # One digit for every field after the year.
    "short": lambda t: f"{t.year}-{t.month}-{t.day}T{t.hour}:{t.minute}:{t.second}",
    # SQL Server's datetime2(7): 7 digits of fraction (the seventh is below a microsecond).
    "datetime2": lambda t: t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond:06d}9",
    "nanoseconds": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}999",
}


def written(tmp_path, shape, first=None):
    """The hand-made input as CSV, every time written in ``shape`` (the first link's linked_at
    as ``first`` when given), and the Parquet input it came from."""
    parquet = _desk().write(tmp_path / "parquet")
    out = tmp_path / f"csv-{shape}"
    out.mkdir()
    for name, table in schema.load(parquet).items():
        for column in ("linked_at", "at"):
            if column in table.column_names:
                text = [SHAPES[shape](t) for t in table.column(column).to_pylist()]
                if first is not None and column == "linked_at":
                    text[0] = first
                i = table.schema.get_field_index(column)
                table = table.set_column(i, column, pa.array(text, pa.string()))
        (out / f"{name}.csv").write_bytes(excel_csv(table))
    return parquet, out


def findings(directory, out):
    call_command("scan", "run", str(directory), "--out", str(out), "--no-pdf", stdout=io.StringIO())
    return pq.read_table(out / "findings.parquet").to_pylist()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_times_as_excel_and_sql_server_write_them_read_as_the_same_tables(tmp_path, shape):
    """Each shape gives the Parquet input's tables (fractions below a microsecond dropped) and
    its findings. Before, schema.validate ended in Arrow's bare `ArrowInvalid: Failed to parse
    string: '2022-08-01T9:00:00' as a scalar of type timestamp[us]`."""
    parquet, exported = written(tmp_path, shape)
    want = schema.load(parquet)
    assert schema.validate(exported) == {t: want[t].num_rows for t in want}
    got = schema.load(exported)
    for name, table in want.items():
        assert got[name].to_pylist() == table.to_pylist(), name
    assert findings(exported, tmp_path / "out") == findings(parquet, tmp_path / "out-parquet")


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("2022-10-02 3:46:39", datetime(2022, 10, 2, 3, 46, 39)),
        ("2022-8-01 09:00:00", datetime(2022, 8, 1, 9, 0)),
        ("2022-07-10 16:07:00.1234567", datetime(2022, 7, 10, 16, 7, 0, 123456)),
        ("2022-07-10T16:07:00.999999999", datetime(2022, 7, 10, 16, 7, 0, 999999)),
        ("2022-07-10 16:07:00.5", datetime(2022, 7, 10, 16, 7, 0, 500000)),
    ],
)
def test_a_time_is_read_to_the_microsecond_its_fraction_beyond_dropped(tmp_path, value, read):
    _, exported = written(tmp_path, "excel", first=value)
    links = schema.load(exported)["links"]
    assert links.column("linked_at")[0].as_py() == read


@pytest.mark.parametrize(
    "value",
    [
        "2022-08-01T 9:00:00",  # a space before a one-digit hour: strptime took it
        "22022-08-01 09:00:00",  # five digits of year
        "2022-08-01 09:00:00.",  # a point and no fraction
        "2022-08-01 09:00:00.1234567890",  # ten digits of fraction
        "2022-08-01 9:00",  # no seconds
        "2022-08-01 24:00:00",
        " 2022-08-01 09:00:00",
    ],
)
def test_a_time_still_not_one_is_one_error_naming_the_file_column_row_and_value(tmp_path, value):
    _, exported = written(tmp_path, "excel", first=value)
    with pytest.raises(schema.InputError) as refused:
        schema.validate(exported)
    assert refused.value.file == str(exported / "links.csv")
    assert refused.value.column == "linked_at"
    assert refused.value.problem.startswith(
        f"row 2 has {value!r}, not a date and time (YYYY-MM-DDTHH:MM:SS)"
    )


def test_a_date_with_one_digit_month_and_day_is_read_and_a_misshapen_one_refused(tmp_path):
    parquet = _desk().write(tmp_path / "parquet")
    residents = schema.load(parquet)["residents"]
    i = residents.schema.get_field_index("birth_date")
    out = tmp_path / "csv"
    out.mkdir()
    for name in ("links", "desk_events"):
        (out / f"{name}.parquet").write_bytes((parquet / f"{name}.parquet").read_bytes())

    def with_birth(value):
        born = [value] + [None] * (residents.num_rows - 1)
        table = residents.set_column(i, "birth_date", pa.array(born, pa.string()))
        (out / "residents.csv").write_bytes(excel_csv(table))

    with_birth("1990-8-1")
    assert schema.load(out)["residents"].column("birth_date")[0].as_py().isoformat() == "1990-08-01"
    with_birth("1990- 8-01")
    with pytest.raises(schema.InputError) as refused:
        schema.validate(out)
    assert refused.value.column == "birth_date"
    assert refused.value.problem == "row 2 has '1990- 8-01', not a date (YYYY-MM-DD)"
