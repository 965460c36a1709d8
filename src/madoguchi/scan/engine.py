"""Run the rules on an engine: DuckDB (embedded, the default) or Apache Spark.

The same ibis expressions (``madoguchi.scan.rules``) are compiled for either backend; only the
connection and the name-check UDF's binding differ (see ``namematch``).
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import logging
import operator
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from madoguchi.scan import namematch, rules, schema

__all__ = [
    "DUCKDB_MAX_TEMP",
    "DUCKDB_MEMORY_LIMIT",
    "ENGINES",
    "PART_LINKS",
    "Engine",
    "connect",
    "spark_session",
]

ENGINES = ("duckdb", "spark")

PART_LINKS = 12_500_000
"""Links per partition of the scan's steps over every link on DuckDB (``Engine.parts``): at
10M links one, at 100M eight; each partition's joins and window then fit in the memory limit."""

DUCKDB_MAX_TEMP = "30GB"
"""The most DuckDB may spill to its temporary directory: a scan that needs more fails with an
out-of-memory error (said as such) instead of filling the disk."""

DUCKDB_MEMORY_LIMIT = "5GB"
"""DuckDB's own limit (the scan's target is 8 GiB for the whole process: this leaves room for
Python, the name check and the findings); above it DuckDB spills sorts and joins to disk."""

# What pyarrow's utf8_trim_whitespace strips (Unicode White_Space): an optional text value made
# only of these is empty, as schema.load reads it.
_WHITESPACE_CODES = (
    *(9, 10, 11, 12, 13, 32, 0x85, 0xA0, 0x1680),
    *range(0x2000, 0x200B),
    *(0x2028, 0x2029, 0x202F, 0x205F, 0x3000),
)
_WHITESPACE = " || ".join(f"chr({c})" for c in _WHITESPACE_CODES)
# The code points between the space and the next white space, and those above the last one:
# a text starting with one of them is no white space (the cheap test in _parquet_view_sql).
_FIRST_WIDE_SPACE = min(c for c in _WHITESPACE_CODES if c > 32)
_AFTER_LAST_SPACE = max(_WHITESPACE_CODES) + 1


def _kept_sql(name: str) -> str:
    """Whether the text column ``name`` (quoted) is surely not blank, by a cheap test on its
    first character by plain comparisons (DuckDB compares text byte by byte, and UTF-8 keeps the
    order of code points): one from "!" to U+0084 or above U+3000 (IDs, kana) is no white
    space; trim with a set of characters costs about ten times a plain read."""
    return (
        f"({name} >= '!' AND {name} < chr({_FIRST_WIDE_SPACE})) "
        f"OR {name} >= chr({_AFTER_LAST_SPACE})"
    )


_WORD_STARTS = sorted(
    {ord(w[0].lower()) for w in schema.NULL_WORDS} | {ord(w[0].upper()) for w in schema.NULL_WORDS}
)
"""The first characters of ``schema.NULL_WORDS`` in either case (all ASCII): an optional text
value starting with one of them is tested in full (``_blank_sql(..., words=True)``)."""


def _plain_sql(name: str) -> str:
    """``_kept_sql`` for an optional text column, where ``schema.NULL_WORDS`` are blank too:
    also not starting with one of their first characters (``_WORD_STARTS``). Plain comparisons
    still: kana and kanji are settled by the first, IDs and digits by one range more."""
    bounds = [ord("!")]
    for c in _WORD_STARTS:
        bounds += [c, c + 1]
    bounds.append(_FIRST_WIDE_SPACE)
    ranges = [
        f"({name} >= chr({lo}) AND {name} < chr({hi}))"
        for lo, hi in zip(bounds[::2], bounds[1::2], strict=True)
        if lo < hi
    ]
    return f"({name} >= chr({_AFTER_LAST_SPACE}) OR {' OR '.join(ranges)})"


def _increasing(path: Path, column: str) -> bool:
    """Whether the text column of a Parquet file holds no null and each value is greater, byte
    by byte, than the one before it in the file: then no two are equal, and the key needs no
    count of its distinct hashes (a registry's export sorted by its key; a quarter to a third
    of that count's CPU). Stops at the first value out of order: an unsorted file costs one
    batch."""
    try:
        pf = pq.ParquetFile(path, pre_buffer=False)
        last = None
        for batch in pf.iter_batches(batch_size=schema.BATCH_ROWS, columns=[column]):
            col = batch.column(0)
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                return False
            if col.null_count:
                return False
            if not len(col):
                continue
            if last is not None and not pc.greater(col[0], last).as_py():
                return False
            if len(col) > 1 and not pc.all(pc.greater(col[1:], col[:-1])).as_py():
                return False
            last = col[-1]
    except (OSError, pa.ArrowException):
        return False
    return True


_DIGITS_PATTERN = re.compile(r"\^\[0-9\]\{([1-9][0-9]?)\}\\z")
"""A pattern of exactly N ASCII digits (``^[0-9]{N}\\z``, the municipality code's)."""


_AT_MOST_PATTERN = re.compile(r"\^\.\{0,([1-9][0-9]?)\}\\z")
"""A pattern of at most N characters (``^.{0,N}\\z``, the account's last 4's)."""


def _unmatched_sql(name: str, pattern: str) -> str:
    """Whether the text column ``name`` does not match ``pattern`` (RE2). Exactly N ASCII
    digits is checked by GLOB, N ``[0-9]`` in a row over the whole text: the same rows (no
    line break after them, no full-width digit), at about a quarter of RE2's CPU. At most N
    characters: a text of at most N bytes and no line break (RE2's ``.`` matches any
    character but a line break) matches without RE2, which sees only the others (a fifth of
    its CPU: 0.07 against 0.37 s per 10M links)."""
    digits = _DIGITS_PATTERN.fullmatch(pattern)
    if digits is not None:
        return f"NOT ({name} GLOB '{'[0-9]' * int(digits.group(1))}')"
    # schema.ACCOUNT_HASH (64 of 0-9 a-f) falls to RE2 below: 0.22 s of CPU per 1M values
    # against GLOB's 0.6 (every byte of a valid hash is read; round 22).
    quoted = "'" + pattern.replace("'", "''") + "'"
    at_most = _AT_MOST_PATTERN.fullmatch(pattern)
    if at_most is not None:
        return (
            f"CASE WHEN strlen({name}) <= {int(at_most.group(1))} AND NOT contains({name}, "
            f"chr(10)) THEN false ELSE NOT regexp_matches({name}, {quoted}) END"
        )
    return f"NOT regexp_matches({name}, {quoted})"


_NUL_REFUSED_BY = frozenset({schema.MUNICIPALITY_CODE, schema.ACCOUNT_HASH, schema.READING})
"""Patterns no value holding a NUL matches."""


def _refuses_nul(spec: schema.Column) -> bool:
    """Whether DuckDB's validation query refuses a NUL in the column by another of its checks
    (a value among ``spec.values``, a pattern of ``_NUL_REFUSED_BY``), so that it needs no
    search for the byte (which costs 0.05 s of CPU per 1M values of a column): any count
    hands the file to ``schema``, which names the NUL. Not ``schema.LAST4``: RE2's ``.``
    matches a NUL."""
    return bool(spec.values) or spec.pattern in _NUL_REFUSED_BY


def _hashes_distinct(con: Any, source: str, column: str, rows: int) -> bool:
    """Whether the 64-bit hashes (``schema.UNIQUE_HASH``) of the text column ``column`` of
    ``source`` (``rows`` rows) are all distinct: then its values are. The hashes are read
    batch by batch into one array (8 bytes a row: 800 MB at 100M links, before the scan
    holds any memory), sorted, and neighbours compared: about a third of the CPU of DuckDB's
    ``count(DISTINCT …)`` over them, whose hash table cost most of validation's time. False
    also when the count differs (the caller then lets ``schema`` say why)."""
    hashes = np.empty(rows, dtype=np.uint64)
    at = 0
    expr = schema.UNIQUE_HASH.replace("key", column)
    reader = con.sql(f"SELECT {expr} FROM {source}").to_arrow_reader()  # noqa: S608
    for batch in reader:
        col = batch.column(0)
        n = len(col)
        if col.null_count or at + n > rows:
            return False
        hashes[at : at + n] = col.to_numpy(zero_copy_only=False)
        at += n
    if at != rows:
        return False
    hashes.sort()
    return not bool(np.any(hashes[1:] == hashes[:-1]))


def _blank_sql(name: str, *, words: bool = False) -> str:
    """Whether the (non-null) text column ``name`` is empty or made of white space, as
    ``schema`` reads it; with ``words`` (an optional column) also one of
    ``schema.NULL_WORDS`` between white space, in any case."""
    if not words:
        return f"{name} = '' OR trim({name}, {_WHITESPACE}) = ''"
    listed = ", ".join("'" + w.replace("'", "''") + "'" for w in ("", *schema.NULL_WORDS))
    return f"{name} = '' OR lower(trim({name}, {_WHITESPACE})) IN ({listed})"


def _row_rule_sql(rule: schema.RowRule) -> str:
    """Whether a row breaks ``rule`` (``schema.ROW_RULES``), the column blank as ``schema``
    reads it. One CASE, the deciding value first, then the cheap tests, trim last (a CASE runs
    each test only on the rows the ones before leave: a fifth less CPU than an AND of the
    deciding value and the blank test, 0.050 against 0.064 s per 1.5M desk events)."""
    name = '"' + rule.column.replace('"', '""') + '"'
    when = '"' + rule.when.replace('"', '""') + '"'
    among = ", ".join("'" + v.replace("'", "''") + "'" for v in rule.among)
    blank, filled = ("true", "false") if rule.filled else ("false", "true")
    # A row rule's column is optional: schema.NULL_WORDS are blank in it.
    return (
        f"CASE WHEN {when} IS NULL OR {when} NOT IN ({among}) THEN false "
        f"WHEN {name} IS NULL THEN {blank} WHEN {_plain_sql(name)} THEN {filled} "
        f"WHEN {_blank_sql(name, words=True)} THEN {blank} ELSE {filled} END"
    )


def _parquet_view_sql(table: str, path: Path) -> str | None:
    """A SELECT over ``read_parquet`` giving the table exactly as ``schema.load`` would (the
    columns in order, optional blank text as null), or None when a column's stored type needs
    a conversion that only ``schema.load`` makes (then the validated Arrow table is used)."""
    cols = _parquet_columns(table, path)
    if cols is None:
        return None
    literal = duckdb_literal_path(path)
    return f"SELECT {', '.join(cols)} FROM read_parquet({literal})"  # noqa: S608


def _parquet_columns(table: str, path: Path) -> list[str] | None:
    """The select list of ``_parquet_view_sql`` (each column as ``schema.load`` gives it), or
    None."""
    stored = pq.read_schema(path)
    cols = []
    for spec in schema.TABLES[table]:
        if stored.names.count(spec.name) != 1:  # missing, or named twice: schema.load says so
            return None
        typ = stored.field(spec.name).type
        name = '"' + spec.name.replace('"', '""') + '"'
        if spec.type == schema.STR:
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
                return None
            if spec.required:
                cols.append(name)
            else:
                # Blank if empty, made of white space or one of schema.NULL_WORDS (the cheap
                # test first).
                cols.append(
                    f"CASE WHEN {_plain_sql(name)} THEN {name} "
                    f"WHEN {_blank_sql(name, words=True)} THEN NULL ELSE {name} END AS {name}"
                )
        elif typ == spec.type:
            cols.append(name)
        else:
            return None
    return cols


def duckdb_literal_path(path: Path) -> str:
    """The file's absolute path as a DuckDB string literal read as that one file: DuckDB takes
    ``*``, ``?`` and ``[`` in a path for a glob (a directory ``scan[2026]`` would read
    ``scan2``'s file), so each is bracketed as a class of one character, which matches only
    itself."""
    text = str(path.resolve())
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in text)
    return "'" + escaped.replace("'", "''") + "'"


def spark_literal_path(path: Path | str) -> str:
    """A path or URI as Spark (Hadoop's globbing) reads it as that one file: ``{``, ``}``,
    ``[``, ``]``, ``*``, ``?`` and ``\\`` are glob syntax there, escaped with a backslash."""
    text = str(path.resolve()) if isinstance(path, Path) else path
    return "".join("\\" + c if c in "{}[]*?\\" else c for c in text)


_SPARK_WHITESPACE = r"\p{IsWhite_Space}"
"""Unicode White_Space in Java's regular expressions: the same set as ``_WHITESPACE``."""

_SPARK_BLANK = (
    f"^{_SPARK_WHITESPACE}*(?:(?i:"
    + "|".join(re.escape(w) for w in schema.NULL_WORDS)
    + f"){_SPARK_WHITESPACE}*)?$"
)
"""A blank optional text value in Java's regular expressions: empty, white space, or one of
``schema.NULL_WORDS`` (ASCII, any case) between white space."""
_SPARK_BLANK_START = (
    f"^(?:{_SPARK_WHITESPACE}|[" + "".join(re.escape(chr(c)) for c in _WORD_STARTS) + "])"
)
"""The first character of such a value (the cheap test before ``_SPARK_BLANK``)."""


def _spark_readable(table: str, path: Path) -> bool:
    """Whether Spark can read the table's file itself and give every column as
    ``schema.load`` would (see ``_spark_columns``): CSV (read as text, converted in Spark),
    or Parquet whose columns are text, integers, dates or timestamps in microseconds or
    coarser. Otherwise (nanoseconds, which Spark cannot read; a column of nulls only; any
    other type ``schema.batches`` converts) the validated batches are staged as Parquet."""
    if path.suffix == ".csv":
        # Shift_JIS: read (transcoded) by schema.batches alone, the same text on both engines.
        return schema.csv_encoding(path) != schema.SHIFT_JIS
    stored = pq.read_schema(path)
    for spec in schema.TABLES[table]:
        typ = stored.field(spec.name).type
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        text = pa.types.is_string(typ) or pa.types.is_large_string(typ)
        if spec.type == schema.STR:
            ok = text or pa.types.is_integer(typ)
        elif pa.types.is_timestamp(typ):
            # Spark reads a zoned timestamp as an instant: as a date it would be the UTC
            # date, which schema.batches does not promise; leave that to it.
            ok = typ.unit != "ns" and (spec.type == schema.TS or typ.tz is None)
        else:
            ok = text or pa.types.is_date(typ)
        if not ok:
            return False
    return True


def _spark_columns(df: Any, table: str) -> list[Any]:
    """The table's columns from a DataFrame Spark read, in the format's order and types as
    ``createDataFrame(schema.load(...))`` gives them: text (blank optional text as null),
    dates, and timestamps as Spark's ``timestamp`` in the session's zone (UTC: the local
    clock times of the input unchanged)."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    stored = {f.name: f.dataType for f in df.schema.fields}
    cols = []
    for spec in schema.TABLES[table]:
        col = F.col(f"`{spec.name}`")
        typ = stored[spec.name]
        if isinstance(typ, T.StringType) and not spec.required:
            # Blank (schema.NULL_WORDS too) only if it starts with white space or a word's
            # first character: the cheap test first.
            start = F.substring(col, 1, 1).rlike(_SPARK_BLANK_START)
            blank = (col == "") | (start & col.rlike(_SPARK_BLANK))
            col = F.when(blank, F.lit(None)).otherwise(col)
        if spec.type == schema.STR:
            col = col if isinstance(typ, T.StringType) else col.cast("string")
        elif spec.type == schema.TS:
            # Text: validated as schema.TIME_TEXT (one digit or two for each field after the
            # year, up to 9 digits of fraction); Spark's cast reads exactly that, the digits
            # beyond the microsecond dropped as schema drops them.
            # A Parquet timestamp without zone is a timestamp_ntz: cast in the UTC session.
            # A zoned Parquet timestamp is a timestamp (an instant): shown on Japan's clock,
            # as schema.load reads it (on the session's UTC it came out 9 hours early).
            if isinstance(typ, T.TimestampType):
                col = F.from_utc_timestamp(col, schema.JAPAN)
            else:
                col = col.cast("timestamp")
        else:
            col = col if isinstance(typ, T.DateType) else col.cast("date")
        cols.append(col.alias(spec.name))
    return cols


SPARK_SHIFT_JIS = "windows-31j"
"""``schema.SHIFT_JIS`` (Microsoft's code page 932) as Java names it (also ``MS932``)."""


def _spark_head(session: Any, uri: str) -> bytes:
    """The first ``schema.SNIFF_BYTES`` of the file at ``uri``, read through Hadoop's file
    system for its scheme (the driver cannot open a URI itself)."""
    hpath = session._jvm.org.apache.hadoop.fs.Path(uri)
    stream = hpath.getFileSystem(session._jsc.hadoopConfiguration()).open(hpath)
    try:
        return bytes(stream.readNBytes(schema.SNIFF_BYTES))
    finally:
        stream.close()


def spark_csv_encoding(session: Any, uri: str) -> tuple[str, list[str]]:
    """A CSV under a URI: its encoding as ``schema.csv_encoding`` tells it from the file's
    start (``"utf-8-sig"`` or ``schema.SHIFT_JIS``), and its header row. A start that is UTF-16
    or neither encoding is refused as ``schema.batches`` refuses it (without the row: the
    driver reads only the start)."""
    head = _spark_head(session, uri)
    encoding = schema.encoding_of(head)
    save = 'save it as UTF-8 (in Excel, "CSV UTF-8 (コンマ区切り)")'
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise schema.InputError(
            uri,
            None,
            'is UTF-16 text (Excel\'s "Unicode テキスト" saves it so, separated by tabs), not '
            'UTF-8: save it as UTF-8, separated by commas (in Excel, "CSV UTF-8 (コンマ区切り)")',
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        utf8 = False
    else:
        utf8 = True
    if encoding != schema.SHIFT_JIS and not utf8:
        raise schema.InputError(uri, None, f"is not UTF-8 text (its start is not): {save}")
    text = head.decode(encoding, errors="replace")  # the last character may be cut
    return encoding, next(csv.reader(io.StringIO(text, newline="")), [])


def _spark_raw(session: Any, location: Path | str) -> Any:
    """The file as Spark reads it: Parquet as stored, CSV with every column of the header as
    text (the BOM stripped as ``schema.batches`` does; Spark's CSV options set to the RFC 4180
    dialect pyarrow reads). ``location``: a local file, or a URI read through Spark; a CSV
    under a URI in the encoding its start tells (``spark_csv_encoding``): UTF-8, or Shift_JIS
    read by Spark as Java's code page 932."""
    literal = spark_literal_path(location)
    if str(location).endswith(".csv"):
        # PySpark only for the Spark engine (an optional dependency that starts a JVM).
        from pyspark.sql import types as T

        encoding = "UTF-8"
        if isinstance(location, Path):
            with location.open(encoding="utf-8-sig", newline="") as fh:
                header = next(csv.reader(fh), [])
        else:
            sniffed, header = spark_csv_encoding(session, location)
            if sniffed == schema.SHIFT_JIS:
                encoding = SPARK_SHIFT_JIS
                # Spark 4's CSV reader takes only Unicode and Latin-1 charsets unless told it
                # may use the JDK's (which include code page 932); a session setting.
                session.conf.set("spark.sql.legacy.javaCharsets", "true")
        text = T.StructType([T.StructField(h, T.StringType()) for h in header])
        return session.read.csv(
            literal,
            schema=text,
            header=True,
            encoding=encoding,
            quote='"',
            escape='"',
            multiLine=True,  # a quoted value may hold a line break, as schema.batches reads it
            mode="FAILFAST",
        )
    return session.read.parquet(literal)


def _spark_frame(session: Any, table: str, location: Path | str, staging: Path) -> Any:
    """One validated table as a Spark DataFrame read by Spark from the file (nothing through
    the driver's memory). A local file Spark cannot give as ``schema.load`` would is first
    rewritten as Parquet in ``staging``, streamed batch by batch through ``schema.batches``
    (on a cluster ``staging`` must be reachable by every executor). A URI is read as it is
    (``_spark_validate`` refused what Spark cannot read)."""
    if isinstance(location, Path) and not _spark_readable(table, location):
        staged = staging / f"{table}.parquet"
        staging.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(staged, schema.arrow_schema(table), compression="zstd") as out:
            for batch in schema.batches(location, table):
                out.write_batch(batch)
        location = staged
    from pyspark.sql import functions as F

    df = _spark_raw(session, location)
    if str(location).endswith(".csv"):
        # The empty rows a spreadsheet leaves below the table, which schema.batches leaves
        # out (validated: nothing but such rows follows them).
        ws = _SPARK_WHITESPACE
        filled = [
            F.col(f"`{c.name}`").isNotNull() & ~F.col(f"`{c.name}`").rlike(f"^{ws}*$")
            for c in schema.TABLES[table]
        ]
        df = df.filter(functools.reduce(operator.or_, filled))
    return df.select(*_spark_columns(df, table))


def _java_message(exc: BaseException) -> str:
    """The first line of a Spark or Hadoop error (no Java stack trace in the message)."""
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _spark_files(session: Any, uri: str) -> dict[str, str]:
    """The three tables' files under ``uri`` (``format.json`` checked), looked up through
    Hadoop's file system for the URI's scheme; the same errors as ``schema.files``."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from py4j.protocol import Py4JJavaError

    hpath = session._jvm.org.apache.hadoop.fs.Path
    base = uri.rstrip("/")
    try:
        fs = hpath(base).getFileSystem(session._jsc.hadoopConfiguration())
        if not fs.exists(hpath(base)) or not fs.getFileStatus(hpath(base)).isDirectory():
            raise schema.InputError(uri, None, "not a directory")
        fmt = f"{base}/format.json"
        if fs.exists(hpath(fmt)):
            rows = session.read.text(spark_literal_path(fmt), wholetext=True).collect()
            schema.check_format(fmt, rows[0][0] if rows else "")
        found: dict[str, str] = {}
        for table in schema.TABLES:
            names = [f"{base}/{table}.parquet", f"{base}/{table}.csv"]
            there = [n for n in names if fs.exists(hpath(n))]
            if not there:
                raise schema.InputError(
                    names[0], None, f"missing: give {table}.parquet or {table}.csv"
                )
            if len(there) > 1:
                raise schema.InputError(
                    names[1], None, f"both {table}.parquet and {table}.csv exist; keep one"
                )
            found[table] = there[0]
    except Py4JJavaError as exc:
        raise schema.InputError(uri, None, f"cannot be read: {_java_message(exc)}") from exc
    return found


_TOO_LONG = "too_long"
"""Spark's check of an ID over ``schema.ID_LENGTH`` characters: said by ``_problem`` from the
value's length alone (``schema.too_long``)."""


_NUL = "nul"
"""Spark's check of a text value holding U+0000: ``schema.NUL_PROBLEM``, the value never
collected."""

_OUT_OF_RANGE = "out_of_range"
"""Spark's check of a time outside ``schema.EARLIEST`` to ``schema.UNTIL``: said by
``_problem`` as ``schema`` says it (the time, then ``schema.out_of_range``)."""


def _problem(
    n: int, problem: str, value: str | None, row: int | None = None, column: str = ""
) -> str:
    """``n`` rows of ``column`` with ``problem`` (the first, at ``row`` when known, holding
    ``value``), as one sentence: one row as ``schema.batches`` says it (``row 7 has …``)."""
    first = "" if row is None else f"; the first is row {row}"
    rows = f"{n:,} rows" + ("" if row is None else f" (the first is row {row})")
    if problem == _NUL:  # the value never shown
        if n == 1:
            return f"{f'row {row}' if row else '1 row'} has {schema.NUL_PROBLEM}"
        return f"{rows} have {schema.NUL_PROBLEM}"
    if problem == _OUT_OF_RANGE:
        if n == 1:
            return f"{f'row {row}' if row else '1 row'} has {value}, {schema.out_of_range()}"
        return f"{rows} have times such as {value}, {schema.out_of_range()}"
    if problem == _TOO_LONG:  # the value never shown: its length
        length = int(value or 0)
        if n == 1:
            return f"{f'row {row}' if row else '1 row'} has {schema.too_long(length)}"
        return f"{n:,} rows have {schema.too_long(length, many=True)}{first}"
    if problem == "empty":
        if n == 1:
            return f"row {row} is empty (required)" if row else "1 row is empty (required)"
        return f"{n:,} rows are empty (required){first}"
    if n == 1:
        said = problem.format(
            value=schema.shown(value, column), unlike=schema.unlike(value, column)
        )
        return f"{f'row {row}' if row else '1 row'} has {said}"
    said = problem.format(
        value=schema.shown(value, column, many=True), unlike=schema.unlike(value, column)
    )
    return f"{n:,} rows have {said}{first}"


def _spark_first_bad(df: Any, bad: Any, value: Any) -> tuple[int, Any] | None:
    """The file's first row (0-based, in the file's order) where ``bad`` holds, with its
    ``value``. Spark reads a file in splits, each a run of consecutive rows read by one task:
    a row's index is the rows of the splits before its own (ordered by where they start in the
    file) plus its place in its split (``monotonically_increasing_id`` counts on within a
    task). Only when a problem was found: two more passes, over the splits' counts and the
    bad rows."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from pyspark.sql import functions as F

    tagged = df.select(
        F.input_file_block_start().alias("_start"),
        F.monotonically_increasing_id().alias("_id"),
        bad.alias("_bad"),
        value.cast("string").alias("_value"),
    ).localCheckpoint()
    splits = tagged.groupBy("_start").agg(F.count(F.lit(1)).alias("n"), F.min("_id").alias("lo"))
    offset, before = {}, 0
    lowest = {}
    for row in sorted(splits.collect(), key=lambda r: r["_start"]):
        offset[row["_start"]] = before
        lowest[row["_start"]] = row["lo"]
        before += row["n"]
    first = tagged.filter("_bad").orderBy("_start", "_id").limit(1).collect()
    if not first:
        return None
    r = first[0]
    return offset[r["_start"]] + r["_id"] - lowest[r["_start"]], r["_value"]


def _spark_validate_table(session: Any, table: str, location: str) -> int:
    """``schema.batches``' checks made by Spark over the file it reads (a URI): columns
    present, types, required values, allowed values, then the key's uniqueness; the row
    count. An error names the first failing row in the file's order (``_spark_first_bad``) and
    how many rows fail; a duplicated key its value and count."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    df = _spark_raw(session, location)
    stored = {f.name: f.dataType for f in df.schema.fields}
    for spec in schema.TABLES[table]:
        if spec.name not in stored:
            raise schema.InputError(
                location, spec.name, schema.missing_column(df.columns, spec.name)
            )
    ws = _SPARK_WHITESPACE
    if location.endswith(".csv"):
        # Rows of commas alone (every column empty) at the end are left out, as schema.batches
        # leaves them out; one with rows of values after it is refused, naming it.
        cells = [F.col(f"`{c.name}`") for c in schema.TABLES[table]]
        blank_row = functools.reduce(
            operator.and_, [c.isNull() | c.rlike(f"^{ws}*$") for c in cells]
        )
        # Java reads a byte that is part of no Shift_JIS character as U+FFFD, which no
        # Shift_JIS character is: schema.batches refuses such a file naming its row.
        shift_jis = spark_csv_encoding(session, location)[0] == schema.SHIFT_JIS
        broken = functools.reduce(
            operator.or_, [F.coalesce(c.contains("\ufffd"), F.lit(False)) for c in cells]
        )
        counts = df.agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.when(blank_row, 1).otherwise(0)).alias("blank"),
            F.sum(F.when(broken, 1).otherwise(0) if shift_jis else F.lit(0)).alias("broken"),
        ).collect()[0]
        blanks = int(counts["blank"] or 0)
        if blanks:
            found = _spark_first_bad(df, blank_row, F.lit(""))
            if found is not None and found[0] < counts["rows"] - blanks:
                raise schema.InputError(
                    location, None, schema.blank_row_problem(location, found[0])
                )
            df = df.filter(~blank_row)  # all at the end: the others' rows keep their numbers
        found = _spark_first_bad(df, broken, F.lit("")) if counts["broken"] else None
        if found is not None:
            raise schema.InputError(
                location,
                None,
                f"is read as Shift_JIS (its start is), but row "
                f"{schema.row_number(location, found[0])} holds a byte that is part of no "
                'Shift_JIS character: save it as UTF-8 (in Excel, "CSV UTF-8 (コンマ区切り)")',
            )
    checks: list[tuple[str, Any, Any, Any]] = []  # (column, problem, bad rows, a bad value)
    for spec in schema.TABLES[table]:
        col = F.col(f"`{spec.name}`")
        typ = stored[spec.name]
        text = isinstance(typ, T.StringType)
        if spec.type == schema.STR:
            ok = text or isinstance(typ, T.IntegralType | T.NullType)
        elif spec.type == schema.TS:
            ok = text or isinstance(typ, T.TimestampType | T.TimestampNTZType | T.NullType)
        else:
            ok = text or isinstance(typ, T.DateType | T.TimestampNTZType | T.NullType)
        if not ok:
            raise schema.InputError(
                location, spec.name, schema.wrong_type(spec.type, typ.simpleString())
            )
        empty = _SPARK_BLANK if not spec.required else f"^{ws}*$"  # schema.NULL_WORDS too
        blank = (col.isNull() | col.rlike(empty)) if text else col.isNull()
        if text:
            # Never the value (schema.NUL_PROBLEM); chr(0) in Spark's SQL, no NUL through py4j.
            nul = F.coalesce(F.expr(f"instr(`{spec.name}`, chr(0)) > 0"), F.lit(False))
            checks.append((spec.name, _NUL, nul, F.lit("")))
        if spec.required:
            checks.append((spec.name, "empty", blank, F.lit("")))
            if text and spec.type == schema.STR:
                word = ~blank & col.rlike(_SPARK_BLANK)
                checks.append((spec.name, schema.NULL_WORD_PROBLEM, word, col))
        if spec.identifier:
            # Read as text (an id stored as whole numbers too); the value is never collected.
            number = schema.individual_number_sql(f"CAST(`{spec.name}` AS STRING)", spark=True)
            checks.append((spec.name, schema.INDIVIDUAL_NUMBER_PROBLEM, F.expr(number), F.lit("")))
        if text and spec.type != schema.STR:
            when = spec.type == schema.TS
            shape = schema.TIME_TEXT if when else schema.DATE_TEXT
            cast = "timestamp" if when else "date"
            kind = "date and time (YYYY-MM-DDTHH:MM:SS)" if when else "date (YYYY-MM-DD)"
            # The shape schema reads, then a day and second that exist (a cast that fails:
            # try_cast, so ANSI mode gives null rather than an error).
            good = col.rlike(shape) & col.try_cast(cast).isNotNull()
            checks.append((spec.name, f"{{value}}, not a {kind}", ~blank & ~good, col))
        if spec.type == schema.TS:
            # The time on Japan's clock as schema reads it (the session is in UTC: text and a
            # timestamp without zone as written, a zoned one as its instant in Japan).
            if isinstance(typ, T.TimestampType):
                moment = F.from_utc_timestamp(col, schema.JAPAN)
            elif isinstance(typ, T.TimestampNTZType):
                moment = col.cast("timestamp")
            else:
                moment = col.try_cast("timestamp")
            outside = F.coalesce(
                (moment < F.expr(f"TIMESTAMP '{schema.EARLIEST}'"))
                | (moment >= F.expr(f"TIMESTAMP '{schema.UNTIL}'")),
                F.lit(False),
            )
            said = F.date_format(moment, "yyyy-MM-dd HH:mm:ss")
            checks.append((spec.name, _OUT_OF_RANGE, ~blank & outside, said))
        if spec.values:
            allowed = ", ".join(spec.values)
            bad = ~blank & ~col.isin(*spec.values)
            checks.append((spec.name, f"unknown {{value}} (allowed: {allowed})", bad, col))
        if spec.pattern:
            bad = ~col.rlike(spec.pattern)
            if spec.check_digit:
                # The first row breaking either, as schema names it (the check is null for a
                # value that is not six digits: the pattern's to refuse).
                wrong = F.expr(schema.check_digit_wrong_sql(f"`{spec.name}`"))
                bad = bad | F.coalesce(wrong, F.lit(False))
            checks.append((spec.name, "{value}{unlike}", ~blank & bad, col))
        if spec.max_length:
            long = ~blank & (F.length(col) > spec.max_length)
            # Its length, never the value (``schema.too_long``).
            checks.append((spec.name, _TOO_LONG, long, F.length(col)))
    # The rules between a row's columns (schema.ROW_RULES), in the same pass: the first
    # breaking row's columns as JSON (its identity, the deciding value and its own).
    ident = ["link_id"] if table == "links" else ["terminal_id", "at"]
    rule_checks = []
    for rule in schema.ROW_RULES.get(table, ()):
        col = F.col(f"`{rule.column}`")
        blank = col.isNull() | col.cast("string").rlike(_SPARK_BLANK)  # an optional column
        hit = F.coalesce(F.col(f"`{rule.when}`").isin(*rule.among), F.lit(False))
        shown = [*ident, rule.when, rule.column]
        value = F.to_json(F.struct(*(F.col(f"`{c}`").cast("string").alias(c) for c in shown)))
        rule_checks.append((rule, hit & (blank if rule.filled else ~blank), value))
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, (_, _, bad, value) in enumerate(checks):
        aggs.append(F.sum(F.when(bad, 1).otherwise(0)).alias(f"n{i}"))
        aggs.append(F.first(F.when(bad, value.cast("string")), ignorenulls=True).alias(f"v{i}"))
    for i, (_, bad, _) in enumerate(rule_checks):
        aggs.append(F.sum(F.when(bad, 1).otherwise(0)).alias(f"r{i}"))
    result = df.agg(*aggs).collect()[0]
    for i, (column, problem, bad, value) in enumerate(checks):
        n = int(result[f"n{i}"] or 0)
        if n:
            found = _spark_first_bad(df, bad, value)
            if found is None:  # not met again (cannot happen with a file that did not change)
                raise schema.InputError(
                    location, column, _problem(n, problem, result[f"v{i}"], column=column)
                )
            index, shown = found
            row = schema.row_number(location, index)
            raise schema.InputError(location, column, _problem(n, problem, shown, row, column))
    for i, (rule, bad, value) in enumerate(rule_checks):
        n = int(result[f"r{i}"] or 0)
        found = _spark_first_bad(df, bad, value) if n else None
        if found is not None:
            index, shown = found
            got = json.loads(shown)
            raise schema.InputError(
                location,
                rule.column,
                schema.row_rule_problem(
                    rule,
                    schema.row_number(location, index),
                    schema.row_ident(table, got),
                    got.get(rule.when),
                    got.get(rule.column),
                    n,
                ),
            )
    for spec in schema.TABLES[table]:
        if spec.unique:
            key = F.col(f"`{spec.name}`").cast("string")
            dup = df.groupBy(key.alias("key")).count().filter("count > 1").limit(1).collect()
            if dup:
                # The value is never shown: the row of its first holder instead.
                first = _spark_first_bad(df, key == F.lit(dup[0]["key"]), F.lit(""))
                rows = None if first is None else (first[0], None)
                raise schema.duplicate_error(
                    location, spec.name, dup[0]["key"], dup[0]["count"], rows
                )
    if not schema.has_rows(table, int(result["rows"] or 0)):
        raise schema.InputError(location, None, schema.NO_ROWS)
    return int(result["rows"])


def _spark_validate(session: Any, uri: str) -> dict[str, int]:
    """Validate the input under a URI with Spark (the driver cannot read it itself): the
    checks of ``schema.validate``, each problem one ``InputError`` naming the file and the
    column; the row count of each table."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    rows = {}
    for table, location in _spark_files(session, uri).items():
        try:
            rows[table] = _spark_validate_table(session, table, location)
        except (Py4JJavaError, PySparkException) as exc:
            raise schema.InputError(
                location, None, f"cannot be read by Spark: {_java_message(exc)}"
            ) from exc
    return rows


def spark_session(master: str = "local[2]", **conf: str) -> Any:
    """A Spark session with quiet logs, no UI and UTC time (timestamps in the input are local
    clock times without a zone; UTC keeps Spark from shifting them)."""
    # PySpark only for the Spark engine (an optional dependency that starts a JVM).
    from pyspark.sql import SparkSession

    # The Python workers run this interpreter (its environment has the name check).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("madoguchi-scan")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
    )
    if master.startswith("local"):
        # Locally 8 shuffle partitions. A cluster keeps Spark's default (200, coalesced by
        # adaptive execution), not 8 tasks per shuffle at national scale; on local[2] at
        # 200,000 links 2, 8 and 200 partitions cost the same CPU within the noise.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    # py4j logs at INFO as its connections close, some in __del__ at interpreter exit, when a
    # handler's stream may already be closed ("--- Logging error ---" on stderr): only its
    # warnings and errors are of use here.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    return session


STEPS_CATALOG = "scan_steps"
"""DuckDB: the in-memory database (attached to the run's connection) the scan's kept steps are
written to. Unlike temporary tables, which only the connection that made them sees, its tables
are seen by every cursor of the connection, so each step can run on a cursor of its own."""


def _row_group_ranges(path: Path, column: str) -> list[tuple[str, str, int]] | None:
    """Each non-empty row group of a Parquet file as (minimum, maximum, rows) of a text
    column, from the file's statistics; None when a row group has no such statistics or holds
    a null."""
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return None
    paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
    if column not in paths:
        return None
    index = paths.index(column)
    out = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        if not group.num_rows:
            continue
        stats = group.column(index).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return None
        lo, hi = stats.min, stats.max
        if not (isinstance(lo, str) and isinstance(hi, str)):
            return None
        out.append((lo, hi, group.num_rows))
    return out


def _key_bounds(groups: list[tuple[str, str, int]], parts: int) -> list[str] | None:
    """The ``parts`` - 1 keys that cut the row groups' ranges (``_row_group_ranges`` of every
    file, as one list) into ``parts`` partitions of about the same rows, each cut where no
    row group's range crosses it; None when there are not enough such places or a partition
    would get more than half again its share."""
    runs: list[list[Any]] = []
    for lo, hi, n in sorted(groups):
        if runs and lo <= runs[-1][1]:  # overlaps the run before (equal keys too)
            runs[-1][1] = max(runs[-1][1], hi)
            runs[-1][2] += n
        else:
            runs.append([lo, hi, n])
    total = sum(n for _, _, n in runs)
    if len(runs) < parts or not total:
        return None
    bounds: list[str] = []
    sizes = [0]
    before = 0
    for lo, _, n in runs:
        # Cut before this run when its middle is past the next share's end.
        if len(bounds) < parts - 1 and before + n / 2 >= total * (len(bounds) + 1) / parts:
            bounds.append(lo)
            sizes.append(0)
        sizes[-1] += n
        before += n
    if len(bounds) != parts - 1 or max(sizes) > 1.5 * total / parts:
        return None
    return bounds


def _in_range(col: ir.StringValue, bounds: list[str], k: int) -> ir.BooleanValue:
    """Whether a key falls in partition ``k`` of the ranges cut at ``bounds`` (sorted)."""
    cond: ir.BooleanValue = ibis.literal(True)
    if k > 0:
        cond = cond & (col >= bounds[k - 1])
    if k < len(bounds):
        cond = cond & (col < bounds[k])
    return cond


def _row_runs(rows: list[int], parts: int) -> list[tuple[int, int]] | None:
    """Row groups of ``rows`` rows each, in file order, as ``parts`` runs of consecutive row
    groups of about the same rows ([first, end) row numbers); None when some run would get
    more than half again its share."""
    total = sum(rows)
    if len(rows) < parts or not total:
        return None
    runs: list[tuple[int, int]] = []
    start = before = 0
    for n in rows:
        if (
            len(runs) < parts - 1
            and before > start
            and before + n / 2 >= total * (len(runs) + 1) / parts
        ):
            runs.append((start, before))
            start = before
        before += n
    runs.append((start, before))
    if len(runs) != parts or max(hi - lo for lo, hi in runs) > 1.5 * total / parts:
        return None
    return runs


class _Steps:
    """DuckDB: runs the scan's kept steps (``Engine._materialize``) on cursors of their own
    (one per thread, up to ``workers`` at once), each as soon as the steps it reads are kept,
    while the caller builds and compiles the next ones (before, each step waited for that
    Python). Two steps that read nothing of each other (the residents the suspicious links
    name, and their households' members) share DuckDB's threads instead of one waiting for the
    other, as parts of one query do; the rows each step keeps are the same in any order. Every DuckDB thread serves every query of the database, so two
    queries at once use no more threads than ``--threads``; each step still waits for the
    steps it reads (a step whose input failed fails with the same error)."""

    def __init__(self, con: Any, workers: int) -> None:
        self._con = con
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan-step")
        self._pending: dict[str, Future[None]] = {}
        self._reads: dict[str, set[str]] = {}
        self._local = threading.local()
        self._cursors: list[Any] = []
        self._lock = threading.Lock()
        self._stopped = False
        self._built = threading.Event()
        """Set once the caller has given every step (``wait``): a step calling a Python UDF
        (the name check) waits for it, so that it does not contend for Python's lock with
        the caller building and compiling the next steps, on the longest path of the scan."""
        self.started = 0
        """How many steps have started running (the progress bar)."""

    def submit(self, name: str, sql: list[str], reads: set[str], *, python: bool = False) -> None:
        """Run ``sql`` (which makes the step ``name``) once the steps in ``reads`` are kept.
        The pool takes steps in the order given, and a step is given after those it reads, so
        a step that waits for another never holds that one back."""
        after = [f for step, f in self._pending.items() if step in reads]
        self._reads[name] = set(reads)
        self._pending[name] = self._pool.submit(self._run, sql, after, python)

    def drop(self, names: set[str], sql: list[str], then: Callable[[], None]) -> None:
        """Run ``sql`` (dropping ``names``: kept steps, split partitions' views), then
        ``then`` (removing the partitions' files), once they and every step given so far that
        reads them have run (no step given later may read them), so that they hold no memory
        or disk: not a step of the scan (``started`` does not count it)."""
        after = [
            f
            for step, f in self._pending.items()
            if step in names or self._reads.get(step, set()) & names
        ]
        self._pending[f"drop {', '.join(sorted(names))}"] = self._pool.submit(
            self._run, sql, after, False, counted=False, then=then
        )

    def _run(
        self,
        sql: list[str],
        after: list[Future[None]],
        python: bool,
        *,
        counted: bool = True,
        then: Callable[[], None] | None = None,
    ) -> None:
        for step in after:
            step.result()
        if python:
            self._built.wait()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the scan was stopped")
            self.started += counted
            cursor = getattr(self._local, "cursor", None)
            if cursor is None:
                cursor = self._local.cursor = self._con.cursor()
                self._cursors.append(cursor)
        for statement in sql:
            cursor.execute(statement)
        if then is not None:
            then()

    def wait(self) -> None:
        """Until every step given so far is kept. A failure is raised as the step met it, the
        first in the order the steps were given (a step comes before those that read it)."""
        self._built.set()
        for step in list(self._pending.values()):
            step.result()

    def close(self) -> None:
        """Steps not started are dropped, running ones interrupted; returns once no thread of
        the pool runs (before the connection closes)."""
        self._built.set()
        with self._lock:
            self._stopped = True
            for cursor in self._cursors:
                with suppress(Exception):
                    cursor.interrupt()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for cursor in self._cursors:
            with suppress(Exception):
                cursor.close()


@dataclass
class Engine:
    name: str
    con: Any
    backend: str
    """ibis backend name: duckdb or pyspark."""
    _staged: int = 0
    scratch: Path | None = None
    """Spark: where files it cannot read as they are get staged; DuckDB: the partitions
    ``_split`` writes (removed by ``connect``)."""
    _spill: Path | None = None
    """DuckDB: its temporary directory (``scratch`` is made inside it)."""
    _splits: int = 0
    _steps: _Steps | None = None
    """DuckDB: runs the kept steps of the scan being built (``_materialize``)."""
    _steps_before: int = 0
    """DuckDB: the steps earlier runners started (``steps_started`` counts on)."""
    _split_dirs: dict[str, Path] = field(default_factory=dict)
    """DuckDB: the directory of each split partition's view (``_split``) not yet released
    (``_release`` drops the view and removes its files once the steps reading it have run)."""
    _files: dict[str, Path] = field(default_factory=dict)
    """DuckDB: the tables read by a view over their own Parquet file (``register_files``)."""
    _udfs: set[str] = field(default_factory=set)
    """DuckDB: the UDFs registered on the connection (once each: ibis registers them again
    before each query, which must not happen while a step runs one)."""
    _counted: list[ir.Table] = field(default_factory=list)
    """The links step (1) of the last ``findings`` scanned, a row per partition
    (``rules.features``'s ``counted``; ``unscanned``)."""

    def register(
        self, tables: Mapping[str, pa.Table | pa.RecordBatchReader]
    ) -> dict[str, ir.Table]:
        out = {}
        for name, table in tables.items():
            if self.backend == "pyspark":
                df = self.con._session.createDataFrame(table)  # Arrow straight in (PySpark 4)
                df.createOrReplaceTempView(f"scan_{name}")
                out[name] = self.con.table(f"scan_{name}")
            else:
                raw = self.con.con
                raw.register(f"_arrow_{name}", table)
                # name is one of the three fixed table names (schema.TABLES), never input.
                raw.execute(f"CREATE OR REPLACE TABLE scan_{name} AS SELECT * FROM _arrow_{name}")  # noqa: S608
                raw.unregister(f"_arrow_{name}")
                out[name] = self.con.table(f"scan_{name}")
        return out

    def validate(self, directory: Path | str) -> dict[str, int]:
        """Validate the input; the row count of each table. On DuckDB each Parquet file in one
        query over DuckDB's own read (``_valid_rows``), anything else, and any problem, through
        ``schema.validate_table`` (bounded memory, row numbers in errors); on Spark a local
        directory through ``schema.validate``, a URI (``s3a://…``, ``hdfs://…``,
        ``file://…``) by Spark itself, which reads it (``_spark_validate``). DuckDB refuses a
        URI (``schema.files``)."""
        if self.backend == "pyspark" and schema.is_uri(directory):
            return _spark_validate(self.con._session, str(directory))
        if self.backend != "duckdb":
            return schema.validate(directory)
        rows = {}
        for table, path in schema.files(directory).items():
            counted = self._valid_rows(table, path) if path.suffix == ".parquet" else None
            rows[table] = schema.validate_table(path, table) if counted is None else counted
        return rows

    def _valid_rows(self, table: str, path: Path) -> int | None:
        """DuckDB: the row count of a Parquet table when its file is valid, checked in one
        query over DuckDB's own read of the file (required values present, values allowed,
        the key unique, some rows); None when it is not, or cannot be said so (a column stored
        in a type ``schema`` converts, a file DuckDB cannot read): then ``schema`` validates
        it, naming the first bad row as always. Several times cheaper than ``schema``'s
        Arrow batches, which every valid file no longer goes through."""
        # duckdb (a large native library) only when this check runs.
        import duckdb

        try:
            sql = _parquet_view_sql(table, path)
        except (OSError, pa.ArrowException):
            return None
        if sql is None:
            return None
        checks = ["count(*)"]
        unique: list[str] = []  # keys whose hashes are compared apart (``_hashes_distinct``)
        for spec in schema.TABLES[table]:
            name = '"' + spec.name.replace('"', '""') + '"'
            if spec.type == schema.STR and not _refuses_nul(spec):  # schema.NUL_PROBLEM
                checks.append(f"count(*) FILTER (WHERE contains({name}, chr(0)))")
            if spec.type == schema.TS:  # schema.out_of_range
                checks.append(
                    f"count(*) FILTER (WHERE {name} < TIMESTAMP '{schema.EARLIEST}' "
                    f"OR {name} >= TIMESTAMP '{schema.UNTIL}')"
                )
            if spec.required and spec.type == schema.STR:
                # A CASE, so that trim runs only on the rows the cheap test leaves (in a
                # FILTER, "NOT kept AND blank" trimmed every row: 8 s of CPU per 10M).
                # schema.NULL_WORDS too: refused in a required column (schema says so).
                empty = (
                    f"CASE WHEN {_plain_sql(name)} THEN false WHEN {name} IS NULL THEN true "
                    f"ELSE {_blank_sql(name, words=True)} END"
                )
                checks.append(f"count(*) FILTER (WHERE {empty})")
            elif spec.required:
                checks.append(f"count(*) FILTER (WHERE {name} IS NULL)")
            if spec.identifier:
                checks.append(f"count(*) FILTER (WHERE {schema.individual_number_sql(name)})")
            if spec.values:
                allowed = ", ".join("'" + v.replace("'", "''") + "'" for v in spec.values)
                checks.append(f"count(*) FILTER (WHERE {name} NOT IN ({allowed}))")
            if spec.pattern:
                checks.append(f"count(*) FILTER (WHERE {_unmatched_sql(name, spec.pattern)})")
            if spec.check_digit:
                checks.append(f"count(*) FILTER (WHERE {schema.check_digit_wrong_sql(name)})")
            if spec.max_length:  # the bytes first (stored with the text), characters only then
                n = spec.max_length
                checks.append(
                    f"count(*) FILTER (WHERE strlen({name}) > {n} AND length({name}) > {n})"
                )
            if spec.unique and not _increasing(path, spec.name):
                unique.append(name)
        for rule in schema.ROW_RULES.get(table, ()):
            checks.append(f"count(*) FILTER (WHERE {_row_rule_sql(rule)})")
        source = f"read_parquet({duckdb_literal_path(path)})"
        query = f"SELECT {', '.join(checks)} FROM {source}"  # noqa: S608
        try:
            # fetchall, not fetchone: the result drained, so the connection takes the next.
            result = self.con.con.execute(query).fetchall()
            found = result[0] if result else None
            if found is None or not schema.has_rows(table, found[0]) or any(found[1:]):
                return None
            # The key's 64-bit hashes all distinct: the keys are. A repeated hash is left to
            # schema, which confirms it on the keys and names the rows.
            for name in unique:
                if not _hashes_distinct(self.con.con, source, name, int(found[0])):
                    return None
        except duckdb.InterruptException:
            raise
        except duckdb.Error:  # e.g. a file DuckDB cannot read: schema says why
            return None
        return int(found[0])

    def register_files(self, directory: Path | str) -> dict[str, ir.Table]:
        """The input directory's tables for the rules, read by the engine itself (validate
        first: ``validate``). On DuckDB each ``NAME.parquet`` becomes a view over
        ``read_parquet`` giving the table as ``schema.batches`` reads it (streamed by the scan,
        nothing held in Python's memory); a CSV table, or a Parquet column stored in another
        type, is streamed in through ``schema.batches`` (validated and converted batch by
        batch). Spark reads the files itself (see ``_register_files_spark``)."""
        if self.backend != "duckdb":
            return self._register_files_spark(directory)
        out: dict[str, ir.Table] = {}
        streamed: dict[str, pa.RecordBatchReader] = {}
        for name, path in schema.files(directory).items():
            sql = _parquet_view_sql(name, path) if path.suffix == ".parquet" else None
            if sql is None:
                streamed[name] = pa.RecordBatchReader.from_batches(
                    schema.arrow_schema(name), schema.batches(path, name)
                )
                continue
            # name is one of the three fixed table names; the path is quoted in sql.
            self.con.con.execute(f"CREATE OR REPLACE VIEW scan_file_{name} AS {sql}")
            self._files[name] = path
            out[name] = self.con.table(f"scan_file_{name}")
        out.update(self.register(streamed))
        return {name: out[name] for name in schema.TABLES}

    def _register_files_spark(self, directory: Path | str) -> dict[str, ir.Table]:
        """Spark reads each table's file itself (``spark.read.parquet`` or ``csv``), converted
        in Spark to the format's columns and types; a file it cannot read so is staged as
        Parquet first (``_spark_frame``). Nothing of the input passes through the driver."""
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="madoguchi-scan-spark-"))
        out: dict[str, ir.Table] = {}
        session = self.con._session
        located: dict[str, Path] | dict[str, str] = (
            _spark_files(session, directory)
            if isinstance(directory, str) and schema.is_uri(directory)
            else schema.files(directory)
        )
        for name, path in located.items():
            df = _spark_frame(session, name, path, self.scratch)
            df.createOrReplaceTempView(f"scan_file_{name}")
            out[name] = self.con.table(f"scan_file_{name}")
        return out

    def desk_windows(self, keys: pa.Table) -> pa.Table | None:
        """DuckDB, desk events read from their Parquet file (``register_files``): the distinct
        events at the terminal of each of ``keys`` (``terminal_id``, ``lo``, ``hi``) between
        its two times, as the view gives them. The events are found on their terminal and
        time only, by their row numbers in the file, and only those rows are then read whole
        (every column of every event cost about twice as much: 0.66 against 0.40 s of CPU at
        10M links). None otherwise (the caller joins the registered table instead)."""
        path = self._files.get("desk_events")
        cols = _parquet_columns("desk_events", path) if path is not None else None
        if self.backend != "duckdb" or cols is None or path is None:
            return None
        self._wait_steps()
        scan = f"read_parquet({duckdb_literal_path(path)}, file_row_number = true)"
        cur = self.con.con.cursor()
        try:
            cur.register("_scan_timeline_keys", keys)
            # The columns and file are ours (``_parquet_columns``); the keys a registered table.
            query = (
                f"WITH hit AS (SELECT DISTINCT e.file_row_number AS _rn FROM {scan} e "  # noqa: S608
                "JOIN _scan_timeline_keys k ON e.terminal_id = k.terminal_id "
                'AND e."at" >= k.lo AND e."at" <= k.hi) '
                f"SELECT DISTINCT {', '.join(cols)} FROM {scan} "
                "WHERE file_row_number IN (SELECT _rn FROM hit)"
            )
            return cur.sql(query).to_arrow_table()
        finally:
            cur.close()

    def findings(self, tables: dict[str, ir.Table], *, staged: bool = True) -> ir.Table:
        """The findings expression. ``staged`` (the default) materialises the suspicious links
        first (that part runs here, now): the rest of the plan reads them several times, and
        neither engine would otherwise keep them. ``staged=False`` builds one expression and
        runs nothing (``explain``)."""
        udf = namematch.udf_for(self.backend)
        keep = self._materialize if staged else None
        split = self._split if staged and self.backend == "duckdb" else None
        parts = self.parts(tables)
        if staged and self.backend == "duckdb":
            # At national scale (several partitions) one step at a time, as the memory limit
            # was sized for: two partitions' joins at once would each get half.
            self._start_steps(2 if parts == 1 else 1)
        release = self._release if staged and self.backend == "duckdb" else None
        self._counted = []
        counted = self._counted if staged else None
        return rules.findings(rules.features(tables, udf, keep, parts, split, release, counted))

    def unscanned(
        self, tables: dict[str, ir.Table], links: int, examples: int = 5
    ) -> tuple[int, list[str]]:
        """After ``findings`` has run: how many of the ``links`` links were not scanned (their
        ``resident_id`` is not in ``residents``: step (1)'s join dropped them), with the first
        ``examples`` of their link IDs. The count is the links minus the rows step (1) kept
        (already counted as it ran); the examples, only when some were dropped, take one
        anti-join of the links with the residents."""
        if not self._counted:
            return 0, []
        scanned = sum(int(self.to_arrow(c).column("n_scanned")[0].as_py()) for c in self._counted)
        missing = links - scanned
        if missing <= 0:
            return 0, []
        ln, res = tables["links"], tables["residents"]
        orphans = ln.anti_join(res, ln.resident_id == res.resident_id)
        first = orphans.select("link_id").order_by("link_id").limit(examples)
        return missing, [str(v) for v in self.to_arrow(first).column("link_id").to_pylist()]

    def parts(self, tables: dict[str, ir.Table]) -> int:
        """How many partitions the scan's steps over every link and every desk event run in
        (``rules.features``): on DuckDB one per ``PART_LINKS`` links, so that each step's
        joins and window fit in its memory instead of spilling; Spark partitions by itself."""
        if self.backend != "duckdb":
            return 1
        links = int(tables["links"].count().to_pyarrow().as_py())
        return max(1, -(-links // PART_LINKS))

    def _split(self, tables: list[tuple[ir.Table, str]], parts: int) -> list[list[ir.Table]]:
        """DuckDB: ``tables`` split by the same key (``rules.Split``). When each is read from
        its own Parquet file (``register_files``) and the files' row groups allow it, each
        partition reads only its own row groups of the input file and nothing is written
        (``_split_by_row_groups``); otherwise each table is written once, split by the hash
        (``_split_by_hash``)."""
        if parts == 1:
            return [[table] for table, _ in tables]
        by_row_groups = self._split_by_row_groups(tables, parts)
        if by_row_groups is not None:
            return by_row_groups
        return [self._split_by_hash(table, column, parts) for table, column in tables]

    def _file_column(self, table: ir.Table, column: str) -> tuple[str, Path, str] | None:
        """The view (``register_files``), Parquet file and stored column that ``column`` of
        ``table`` is, unchanged, when ``table`` only selects, renames and filters the rows of
        one input file's view; None otherwise."""
        op: Any = table.op()
        while not isinstance(op, ops.DatabaseTable):
            if isinstance(op, ops.Project):
                value = op.values.get(column)
                if not isinstance(value, ops.Field):
                    return None
                column, op = value.name, value.rel
            elif isinstance(op, ops.Filter):
                op = op.parent
            else:
                return None
        name = op.name.removeprefix("scan_file_")
        path = self._files.get(name)
        if path is None or op.name != f"scan_file_{name}" or op.namespace.catalog:
            return None
        # A required column: the view gives it as stored (an optional one's blank text is
        # null there, which no range of the stored values would hold).
        if not any(c.name == column and c.required for c in schema.TABLES[name]):
            return None
        return name, path, column

    def _split_by_row_groups(
        self, tables: list[tuple[ir.Table, str]], parts: int
    ) -> list[list[ir.Table]] | None:
        """``tables`` in ``parts`` partitions each read from its own row groups of the input
        file, with nothing written, when the files allow it; None otherwise.

        By ranges of the key: when the row groups of all the files, by the key's minimum and
        maximum in each (the files' statistics), fall into at least ``parts`` runs of keys that
        no other row group's range overlaps (files written in the key's order, as a registry
        exports its residents and their links), partition ``k`` is the rows whose key is in
        its range, and DuckDB reads only the row groups whose range meets it. By rows: for one
        table, when the row groups fall into ``parts`` runs of consecutive row groups of about
        the same size and no key is in two runs (checked on the file in one query over the key
        alone: a desk log written terminal by terminal, or office by office), partition ``k``
        is the rows of its run (by their row numbers in the file).

        Either way each key's rows are in one partition, so the rows the steps give are the
        same as with the hash (tested); the statistics only choose the ranges and runs, never
        which rows a partition holds."""
        sources = [self._file_column(table, column) for table, column in tables]
        if any(source is None for source in sources):
            return None
        found = [s for s in sources if s is not None]
        groups = [_row_group_ranges(path, column) for _, path, column in found]
        if any(g is None for g in groups):
            return None
        ranges = [g for g in groups if g is not None]
        bounds = _key_bounds([r for g in ranges for r in g], parts)
        if bounds is not None:
            return [
                [table.filter(_in_range(table[column], bounds, k)) for k in range(len(bounds) + 1)]
                for table, column in tables
            ]
        if len(tables) != 1:
            return None
        (table, _), (name, path, column) = tables[0], found[0]
        runs = _row_runs([n for _, _, n in ranges[0]], parts)
        if runs is None or not self._keys_within_runs(path, column, runs):
            return None
        return [[self._rows_of(table, name, path, lo, hi) for lo, hi in runs]]

    def _keys_within_runs(self, path: Path, column: str, runs: list[tuple[int, int]]) -> bool:
        """Whether every value of ``column`` in the Parquet file lies within one run of rows
        (``runs``: [first, end) row numbers): one query over the column alone."""
        key = '"' + column.replace('"', '""') + '"'
        crosses = " OR ".join(f"(lo < {hi} AND hi >= {hi})" for _, hi in runs[:-1])
        scan = f"read_parquet({duckdb_literal_path(path)}, file_row_number = true)"
        query = (
            "SELECT count(*) FROM (SELECT min(file_row_number) AS lo, "  # noqa: S608 (ours)
            f"max(file_row_number) AS hi FROM {scan} GROUP BY {key}) WHERE {crosses}"
        )
        self._wait_steps()
        found = self.con.con.execute(query).fetchone()
        return found is not None and found[0] == 0

    def _rows_of(self, table: ir.Table, name: str, path: Path, lo: int, hi: int) -> ir.Table:
        """``table`` with its input file's view (``register_files``) replaced by the rows
        ``lo`` to ``hi`` - 1 of the file (a view of its own: DuckDB reads only the row groups
        that hold them)."""
        cols = _parquet_columns(name, path)
        assert cols is not None  # a view over the file was made from them
        self._splits += 1
        view = f"scan_rows_{self._splits}"
        scan = f"read_parquet({duckdb_literal_path(path)}, file_row_number = true)"
        self.con.con.execute(
            f"CREATE OR REPLACE VIEW {view} AS SELECT {', '.join(cols)} FROM {scan} "  # noqa: S608
            f"WHERE file_row_number >= {lo} AND file_row_number < {hi}"
        )
        source = next(
            op for op in table.op().find(ops.DatabaseTable) if op.name == f"scan_file_{name}"
        )
        rows = self.con.table(view).op()
        return table.op().replace({source: rows}).to_expr()

    def _split_by_hash(self, table: ir.Table, column: str, parts: int) -> list[ir.Table]:
        """DuckDB: ``table`` written once as Parquet files partitioned by the hash of
        ``column`` (``COPY … PARTITION_BY``, one pass over its input; ``rules.Split``), each
        partition then read from its own files: at 100M links each of the eight partitions of
        a step no longer reads every link, resident or desk event again. The files go to
        ``scratch`` (in the run's temporary directory, removed with the connection),
        uncompressed: written once and read once, compressing them cost more CPU than it
        saved (zstd, the default, 4.5 s against 3.7 s for the desk events' split at 10M)."""
        # The split's one pass holds DuckDB's memory while it writes: not beside a step.
        self._wait_steps()
        if self.scratch is None:
            self.scratch = Path(tempfile.mkdtemp(prefix="madoguchi-scan-parts-", dir=self._spill))
        self._splits += 1
        where = self.scratch / f"split_{self._splits}"
        cut = table.mutate(_scan_part=rules.partition_of(table[column], parts))
        sql = ibis.to_sql(cut, dialect=self.backend)
        # A path to write to is not a glob: quoted as it is.
        target = "'" + str(where.resolve()).replace("'", "''") + "'"
        self.con.con.execute(
            f"COPY ({sql}) TO {target} "
            "(FORMAT parquet, PARTITION_BY (_scan_part), WRITE_PARTITION_COLUMNS false, "
            "COMPRESSION uncompressed)"
        )
        out = []
        for k in range(parts):
            files = where / f"_scan_part={k}"
            name = f"scan_split_{self._splits}_{k}"
            if not any(files.glob("*.parquet")):  # no row falls in this partition
                self._runner()  # the steps' database, which every cursor sees
                out.append(
                    self.con.create_table(
                        name, schema=table.schema(), database=(STEPS_CATALOG, "main")
                    )
                )
                continue
            self._split_dirs[name] = files
            pattern = duckdb_literal_path(files)[:-1] + "/*.parquet'"
            self.con.con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "  # noqa: S608 (our own names)
                f"read_parquet({pattern}, hive_partitioning = false)"
            )
            out.append(self.con.table(name))
        return out

    def _materialize(self, table: ir.Table) -> ir.Table:
        """Run ``table`` now and keep its rows in a temporary table (dropped with the
        connection); on Spark, persisted (``_materialize_spark``)."""
        if self.backend != "duckdb":
            return self._materialize_spark(table)
        self._staged += 1
        name = f"scan_stage_{self._staged}"
        steps = self._runner()
        udfs = table.op().find(ops.ScalarUDF)
        for udf in udfs:
            if type(udf).__name__ not in self._udfs:
                self.con._register_udfs(udf.to_expr())
                self._udfs.add(type(udf).__name__)
        # The table gets the columns and types ibis gives the expression (as ibis's
        # create_table makes it), and the expression that reads it the same schema, so
        # nothing waits for the step here (ibis would ask DuckDB for the table's schema).
        schema_ = table.schema()
        target = f'{STEPS_CATALOG}.main."{name}"'
        defs = ", ".join(c.sql(self.backend) for c in schema_.to_sqlglot_column_defs(self.backend))
        columns = ", ".join('"' + c.replace('"', '""') + '"' for c in table.columns)
        reads = {
            op.name
            for op in table.op().find(ops.DatabaseTable)
            if op.namespace.catalog == STEPS_CATALOG or op.name in self._split_dirs
        }
        # name is ours (scan_stage_N); the column names and query are ibis's.
        sql = [
            f"CREATE TABLE {target} ({defs})",
            f"INSERT INTO {target} ({columns}) {self.con.compile(table)}",
        ]
        steps.submit(name, sql, reads, python=bool(udfs))
        namespace = ops.Namespace(catalog=STEPS_CATALOG, database="main")
        kept: ir.Table = ops.DatabaseTable(
            name, schema=schema_, source=self.con, namespace=namespace
        ).to_expr()
        return kept

    def _release(self, tables: list[ir.Table]) -> None:
        """DuckDB: drop the kept steps ``tables`` once the steps given so far that read them
        have run (``rules.Release``). At 100M links step (1) keeps every link with its
        resident's reading, 12.5M rows a partition: held to the end, the eight partitions'
        rows outgrew the memory limit and were written to the temporary directory. A split
        partition's view (``_split``) is dropped the same way and its files removed: at 100M
        links the splits of the links, residents and desk events no longer sit on disk all at
        once until the scan ends."""
        ours = [
            op.name
            for t in tables
            for op in [t.op()]
            if isinstance(op, ops.DatabaseTable)
            and (op.namespace.catalog == STEPS_CATALOG or op.name in self._split_dirs)
        ]
        views = {name: self._split_dirs.pop(name) for name in ours if name in self._split_dirs}
        sql = [
            f'DROP VIEW IF EXISTS "{name}"'
            if name in views
            # name is ours (scan_stage_N, scan_split_N_K)
            else f'DROP TABLE IF EXISTS {STEPS_CATALOG}.main."{name}"'
            for name in sorted(ours)
        ]
        if sql:

            def remove() -> None:
                for files in views.values():
                    shutil.rmtree(files, ignore_errors=True)

            self._runner().drop(set(ours), sql, remove)

    def _runner(self) -> _Steps:
        """DuckDB: the runner of the kept steps (made with the steps' database at the first
        step of a connection; ``findings`` starts a fresh one for each scan)."""
        if self._steps is None:
            self._start_steps(2)
        assert self._steps is not None
        return self._steps

    def _threads(self) -> int:
        found = self.con.con.execute("SELECT current_setting('threads')").fetchall()
        return int(found[0][0]) if found else 1

    def _start_steps(self, workers: int) -> None:
        """DuckDB: a fresh runner for a scan's kept steps, ``workers`` at once at most (and one
        when DuckDB has one thread: two queries at once would use two)."""
        self.close()
        self.con.con.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {STEPS_CATALOG}")
        self._steps = _Steps(self.con.con, workers if self._threads() > 1 else 1)

    def _wait_steps(self) -> None:
        if self._steps is None:
            return
        try:
            self._steps.wait()
        except BaseException:
            self.close()  # the other steps stopped; the next scan starts afresh
            raise

    def close(self) -> None:
        """DuckDB: stop the kept steps still running (the connection is about to close, or
        a new scan starts); the steps already kept stay."""
        if self._steps is not None:
            steps, self._steps = self._steps, None
            steps.close()
            self._steps_before += steps.started

    def drop_steps(self) -> None:
        """DuckDB: drop every kept step (so that a repeated scan holds no more memory than
        the first: ``bench scan --repeat``)."""
        self.close()
        names = self.con.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [STEPS_CATALOG]
        ).fetchall()
        for (name,) in names:
            self.con.con.execute(f'DROP TABLE {STEPS_CATALOG}.main."{name}"')

    def _explain_step(self, steps: list[tuple[str, str]]) -> Callable[[ir.Table], ir.Table]:
        """A ``materialize`` for Spark's ``explain``: notes the step's plan in ``steps`` and
        keeps it lazily (``localCheckpoint(eager=False)``: nothing runs), so later plans read
        it instead of inlining it."""

        def keep(table: ir.Table) -> ir.Table:
            self._staged += 1
            self.con._register_udfs(table)
            df = self.con._session.sql(str(ibis.to_sql(table, dialect=self.backend)))
            steps.append((f"step {len(steps) + 1}", df._jdf.queryExecution().simpleString()))
            df = df.localCheckpoint(eager=False)
            df.createOrReplaceTempView(f"scan_stage_{self._staged}")
            return self.con.table(f"scan_stage_{self._staged}")

        return keep

    def _materialize_spark(self, table: ir.Table) -> ir.Table:
        """Spark: the table computed now and kept by the executors (``localCheckpoint``:
        its lineage cut, so the rest of the plan starts from the rows), under a temporary
        view. Compiled by hand with the UDF registered first (ibis's ``cache`` would compile it
        before). Without it Spark recomputed the features of every link for each of the five
        reads of the suspicious ones (docs/scan.md: figures). On a cluster, losing an executor
        then fails the run instead of recomputing its part."""
        self._staged += 1
        self.con._register_udfs(table)
        df = self.con._session.sql(str(ibis.to_sql(table, dialect=self.backend)))
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(f"scan_stage_{self._staged}")
        return self.con.table(f"scan_stage_{self._staged}")

    def explain(self, tables: dict[str, ir.Table]) -> Iterator[tuple[str, str]]:
        """Each rule's plan: the links it flags, as the engine would run it. On Spark the
        scan's steps are first each one plan of its own (``step N``: what ``_materialize``
        would run), kept lazily, so each rule's plan reads the steps before it: inlined, the
        steps' reuse of one another makes a plan Spark takes hours to optimise."""
        udf = namematch.udf_for(self.backend)
        steps: list[tuple[str, str]] = []
        keep = None if self.backend == "duckdb" else self._explain_step(steps)
        feat = rules.features(tables, udf, keep, self.parts(tables))
        yield from steps
        for rule in rules.RULES:
            expr = feat.filter(rule.condition(feat).fill_null(False)).select("link_id")
            sql = ibis.to_sql(expr, dialect=self.backend)
            self.con._register_udfs(expr)  # what ibis does before it runs an expression
            if self.backend == "duckdb":
                plan = self.con.raw_sql(f"EXPLAIN {sql}").fetchall()
                text = "\n".join(str(row[1]) for row in plan)
            else:
                df = self.con._session.sql(str(sql))
                text = df._jdf.queryExecution().simpleString()
            yield rule.name, text

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        self._wait_steps()
        return expr.to_pyarrow()

    @property
    def steps_started(self) -> int:
        """How many of the scan's steps (``_materialize``) have started (the progress bar):
        on DuckDB, started running (they are given before; ``_Steps``)."""
        if self.backend == "duckdb":
            steps = self._steps
            return self._steps_before + (steps.started if steps is not None else 0)
        return self._staged


@contextmanager
def connect(
    engine: str = "duckdb",
    *,
    master: str = "local[2]",
    threads: int | None = None,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    temp_directory: Path | str | None = None,
    conf: dict[str, str] | None = None,
) -> Iterator[Engine]:
    """An engine. DuckDB: ``threads`` (default: the machine's cores), ``memory_limit`` (its
    own memory; above it sorts and joins spill) and ``temp_directory`` (where they spill;
    default: a fresh temporary directory, removed afterwards). Insertion order is not kept
    (the findings are ordered by link id; keeping it costs memory on large scans)."""
    if engine == "duckdb":
        spill = Path(temp_directory) if temp_directory else None
        made = None
        if spill is None:
            made = spill = Path(tempfile.mkdtemp(prefix="madoguchi-scan-spill-"))
        con = ibis.duckdb.connect(
            threads=threads or os.cpu_count() or 1,
            memory_limit=memory_limit,
            temp_directory=str(spill),
            preserve_insertion_order=False,
            max_temp_directory_size=DUCKDB_MAX_TEMP,
        )
        eng = Engine("duckdb", con, "duckdb", _spill=spill)
        try:
            yield eng
        finally:
            eng.close()
            con.disconnect()
            if eng.scratch is not None:
                shutil.rmtree(eng.scratch, ignore_errors=True)
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
    elif engine == "spark":
        session = spark_session(master, **(conf or {}))
        eng = Engine("spark", ibis.pyspark.connect(session), "pyspark")
        try:
            yield eng
        finally:
            if eng.scratch is not None:
                shutil.rmtree(eng.scratch, ignore_errors=True)
    else:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
