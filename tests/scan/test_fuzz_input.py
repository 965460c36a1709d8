"""The scan's input validation fed a stranger's files: accepted, or one InputError that names the
file and says why in one line, never another exception.

A city's export is edited by hand in a spreadsheet before anyone runs the scan; each example
changes one cell of a good input's CSV to odd text (a BOM, NUL, quotes, line breaks, full-width
digits, NULL-like words, a huge string, dates a spreadsheet writes), or one Parquet column to
another type or to all nulls. Bounded: a dozen examples of each (about 10 s).
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from madoguchi.scan import schema
from tests.fuzzing import DERANDOMIZE, examples

TABLES = ("residents", "links", "desk_events")
ODD = [
    "",
    "\ufeff",
    "\x00",
    '"',
    'a"b',
    "a,b",
    "a\nb",
    "\r",
    "NULL",
    "null",
    "NaN",
    "1e309",
    "-0",
    "０１３１０１",
    "2022/8/1 9:01",
    "2022-02-30 09:00:00",
    "令和4年8月1日",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "\u202e",
    "x" * 200_000,
]
cells = st.sampled_from(ODD) | st.text(max_size=30)
SETTINGS = settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=DERANDOMIZE,
    database=None,
)


def _validated_or_refused(directory: Path) -> None:
    try:
        schema.validate(directory)
    except schema.InputError as exc:
        refused: schema.InputError | None = exc
    else:
        refused = None
    if refused is not None:
        message = str(refused)
        assert "\n" not in message, message
        assert refused.file.startswith(str(directory)), message
        assert refused.problem, message


def _csv_copy(good: Path, into: Path) -> dict[str, list[list[str]]]:
    into.mkdir()
    rows = {}
    for table in TABLES:
        pacsv.write_csv(pq.read_table(good / f"{table}.parquet"), into / f"{table}.csv")
        with (into / f"{table}.csv").open(encoding="utf-8", newline="") as f:
            rows[table] = list(csv.reader(f))
    shutil.copy(good / "format.json", into / "format.json")
    return rows


def test_a_csv_with_one_odd_cell_is_validated_or_refused_in_one_line(good, tmp_path):
    base = tmp_path / "csv"
    rows = _csv_copy(good, base)
    assert schema.validate(base)["links"] == 1  # the unedited copy is valid
    work = tmp_path / "work"

    @SETTINGS
    @given(
        table=st.sampled_from(TABLES),
        pick=st.tuples(st.integers(0, 1000), st.integers(0, 1000)),
        cell=cells,
        bom=st.booleans(),
    )
    @example(table="links", pick=(1, 0), cell="\x00", bom=True)
    @example(table="desk_events", pick=(0, 0), cell="\ufeffat", bom=False)
    @example(table="residents", pick=(1, 1), cell="x" * 200_000, bom=False)
    @example(table="residents", pick=(0, 0), cell="x" * 200_000, bom=False)  # csv.Error
    def run(table: str, pick: tuple[int, int], cell: str, bom: bool) -> None:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(base, work)
        edited = [list(r) for r in rows[table]]
        row = edited[pick[0] % len(edited)]
        row[pick[1] % len(row)] = cell
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows(edited)
        (work / f"{table}.csv").write_bytes(
            (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")
        )
        _validated_or_refused(work)

    run()


ARRAYS = {
    "int64": lambda n: pa.array(range(n), pa.int64()),
    "float": lambda n: pa.array([float("nan")] * n, pa.float64()),
    "binary": lambda n: pa.array([b"\xff\xfe"] * n, pa.binary()),
    "null": lambda n: pa.nulls(n),
    "nulls-as-string": lambda n: pa.nulls(n, pa.string()),
    "large_string": lambda n: pa.array(["x"] * n, pa.large_string()),
    "dictionary": lambda n: pa.array(["a"] * n).dictionary_encode(),
    "timestamp-tz": lambda n: pa.array([0] * n, pa.timestamp("s", tz="Asia/Tokyo")),
    "date": lambda n: pa.array([0] * n, pa.date32()),
    "bool": lambda n: pa.array([True] * n),
    "list": lambda n: pa.array([["a"]] * n),
    "struct": lambda n: pa.array([{"a": 1}] * n),
    "decimal": lambda n: pa.array([0] * n, pa.decimal128(5, 2)),
}


def test_a_parquet_column_of_another_type_is_validated_or_refused_in_one_line(good, tmp_path):
    tables = {t: pq.read_table(good / f"{t}.parquet") for t in TABLES}
    work = tmp_path / "work"

    @SETTINGS
    @given(
        table=st.sampled_from(TABLES),
        column=st.integers(0, 100),
        kind=st.sampled_from(sorted(ARRAYS)),
    )
    def run(table: str, column: int, kind: str) -> None:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(good, work)
        t = tables[table]
        index = column % t.num_columns
        changed = t.set_column(index, t.schema.field(index).name, ARRAYS[kind](t.num_rows))
        pq.write_table(changed, work / f"{table}.parquet")
        _validated_or_refused(work)

    run()


def test_a_header_with_a_quote_left_open_is_refused_in_one_line(good, tmp_path):
    """Python's csv reader raised `_csv.Error: field larger than field limit (131072)` (not an
    InputError) reading the header when a quote opened there ran past 128 KiB of the file: a
    longer run of this fuzzing found it."""
    base = tmp_path / "csv"
    _csv_copy(good, base)
    (base / "residents.csv").write_text('"resident_id,' + "x" * 140_000 + "\n", encoding="utf-8")
    try:
        schema.validate(base)
    except schema.InputError as exc:
        refused = str(exc)
    assert "residents.csv: cannot be read: its header row is not one line" in refused
    assert "a quote left open?" in refused
    assert "\n" not in refused
