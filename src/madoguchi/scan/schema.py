"""The scan's input format (version 1): three tables, Parquet or CSV, validated before anything runs.

A directory holds ``residents``, ``links`` and ``desk_events``, each as ``NAME.parquet`` or
``NAME.csv`` (UTF-8, header row). Column names are exact; extra columns are ignored. An
optional ``format.json`` (``{"format": "madoguchi-scan", "version": 1}``) names the version;
without it version 1 is assumed. See docs/scan.md.

Every problem is one :class:`InputError` naming the file and the column, raised before
anything is written.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PROGRAMMES",
    "TABLES",
    "Column",
    "InputError",
    "load",
    "write",
]

FORMAT_NAME = "madoguchi-scan"
FORMAT_VERSION = 1

PROGRAMMES = ("mynapoint_2", "public_fund", "health_insurance")
CHANNELS = ("desk", "self")
EVENTS = ("login", "logout", "card_read", "card_removed", "commit")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool = True
    """False: the value may be empty (null or the empty string)."""
    values: tuple[str, ...] = ()
    """When set, the only values allowed."""


STR = pa.string()
TS = pa.timestamp("us")

TABLES: dict[str, tuple[Column, ...]] = {
    "residents": (
        Column("resident_id", STR),
        Column("name_kana", STR),
        Column("name_kanji", STR, required=False),
        Column("birth_date", pa.date32(), required=False),
        Column("household_id", STR),
        Column("municipality_code", STR),
    ),
    "links": (
        Column("link_id", STR),
        Column("programme", STR, values=PROGRAMMES),
        Column("resident_id", STR),
        Column("account_hash", STR),
        Column("account_last4", STR, required=False),
        Column("holder_kana", STR, required=False),
        Column("linked_at", TS),
        Column("channel", STR, values=CHANNELS),
        Column("municipality_code", STR),
        Column("terminal_id", STR, required=False),
        Column("staff_id", STR, required=False),
    ),
    "desk_events": (
        Column("terminal_id", STR),
        Column("at", TS),
        Column("event", STR, values=EVENTS),
        Column("staff_id", STR, required=False),
        Column("resident_id", STR, required=False),
        Column("link_id", STR, required=False),
    ),
}


class InputError(ValueError):
    """Bad input: one message naming the file and the column (English; the CLI prints it)."""

    def __init__(self, file: str, column: str | None, problem: str) -> None:
        self.file = file
        self.column = column
        self.problem = problem
        where = f"{file}, column {column!r}" if column else file
        super().__init__(f"{where}: {problem}")


def _find(directory: Path, table: str) -> Path:
    found = [p for p in (directory / f"{table}.parquet", directory / f"{table}.csv") if p.exists()]
    if not found:
        raise InputError(
            str(directory / f"{table}.parquet"),
            None,
            f"missing: give {table}.parquet or {table}.csv",
        )
    if len(found) > 1:
        raise InputError(
            str(found[1]), None, f"both {table}.parquet and {table}.csv exist; keep one"
        )
    return found[0]


def _read(path: Path) -> pa.Table:
    try:
        if path.suffix == ".csv":
            # Everything as text first: types are checked column by column below, with a message.
            with path.open(encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), [])
            opts = pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False
            )
            return pacsv.read_csv(path, convert_options=opts)
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), None, f"cannot be read: {exc}") from exc


def _empty(col: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.or_kleene(pc.is_null(col), pc.equal(pc.utf8_trim_whitespace(col), ""))
    return pc.is_null(col)


def _first_row(mask: pa.ChunkedArray) -> int:
    return int(pc.index(mask, True).as_py())


def _convert(path: Path, spec: Column, col: pa.ChunkedArray) -> pa.ChunkedArray:
    src = col.type
    if spec.type == src:
        return col
    if pa.types.is_null(src):  # a column with no value at all
        return col.cast(spec.type)
    is_text = pa.types.is_string(src) or pa.types.is_large_string(src)
    if spec.type == STR:
        if is_text:
            return col.cast(STR)
        if pa.types.is_integer(src):
            return col.cast(STR)
        raise InputError(str(path), spec.name, f"expected text, found {src}")
    if is_text:
        text = pc.if_else(_empty(col), pa.scalar(None, STR), col.cast(STR))
        when = spec.type == TS
        fmt = "%Y-%m-%dT%H:%M:%S" if when else "%Y-%m-%d"
        if when:  # accept a space between date and time, and fractions of a second
            text = pc.replace_substring(text, " ", "T", max_replacements=1)
        plain = pc.replace_substring_regex(text, r"\.\d{1,9}$", "") if when else text
        parsed = pc.strptime(plain, fmt, "us", error_is_null=True)
        bad = pc.and_(pc.is_null(parsed), pc.invert(pc.is_null(text)))
        if pc.any(bad).as_py():
            row = _first_row(bad)
            kind = "date and time (YYYY-MM-DDTHH:MM:SS)" if when else "date (YYYY-MM-DD)"
            raise InputError(
                str(path), spec.name, f"row {row + 2} has {col[row].as_py()!r}, not a {kind}"
            )
        if when:
            return pc.cast(text, TS)
        return parsed.cast(pa.date32())
    if pa.types.is_timestamp(src) and spec.type == TS:
        return col.cast(TS) if src.tz is None else pc.cast(col.cast(pa.timestamp("us", "UTC")), TS)
    if pa.types.is_date(src) and spec.type == pa.date32():
        return col.cast(pa.date32())
    if pa.types.is_timestamp(src) and spec.type == pa.date32():
        return col.cast(pa.date32())
    raise InputError(str(path), spec.name, f"expected {spec.type}, found {src}")


def _validate(path: Path, table: str, raw: pa.Table) -> pa.Table:
    names = set(raw.column_names)
    for spec in TABLES[table]:
        if spec.name not in names:
            raise InputError(str(path), spec.name, "missing column")
    arrays = []
    for spec in TABLES[table]:
        col = _convert(path, spec, raw.column(spec.name))
        if spec.required:
            empty = _empty(col)
            if pc.any(empty).as_py():
                raise InputError(
                    str(path), spec.name, f"row {_first_row(empty) + 2} is empty (required)"
                )
        elif spec.type == STR:
            col = pc.if_else(_empty(col), pa.scalar(None, STR), col)
        if spec.values:
            bad = pc.invert(pc.is_in(col, value_set=pa.array(spec.values)))
            bad = pc.and_(bad, pc.invert(pc.is_null(col)))
            if pc.any(bad).as_py():
                row = _first_row(bad)
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row + 2} has unknown value {col[row].as_py()!r} "
                    f"(allowed: {', '.join(spec.values)})",
                )
        arrays.append(col)
    return pa.table(arrays, names=[s.name for s in TABLES[table]])


def _check_format(directory: Path) -> None:
    path = directory / "format.json"
    if not path.exists():
        return
    try:
        meta = json.loads(path.read_text("utf-8"))
    except (ValueError, OSError) as exc:
        raise InputError(str(path), None, f"not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise InputError(str(path), "format", f"expected {FORMAT_NAME!r}")
    if meta.get("version") != FORMAT_VERSION:
        raise InputError(
            str(path),
            "version",
            f"version {meta.get('version')!r} is not supported (this is {FORMAT_VERSION})",
        )


def load(directory: Path | str) -> dict[str, pa.Table]:
    """Read and validate the three tables; raise :class:`InputError` on the first problem."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), None, "not a directory")
    _check_format(directory)
    return {t: _validate(path, t, _read(path)) for t in TABLES for path in [_find(directory, t)]}


def write(directory: Path | str, tables: dict[str, pa.Table]) -> None:
    """Write the three tables as Parquet with ``format.json`` (the generator and the adapter)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, directory / f"{name}.parquet", compression="zstd")
    (directory / "format.json").write_text(
        json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}) + "\n", "utf-8"
    )
