"""The scan's input format (version 1): three tables, Parquet or CSV, validated before anything runs.

A directory holds ``residents``, ``links`` and ``desk_events``, each as ``NAME.parquet`` or
``NAME.csv`` (UTF-8, header row). Column names are exact; extra columns are ignored. An
optional ``format.json`` (``{"format": "madoguchi-scan", "version": 1}``) names the version;
without it version 1 is assumed. See docs/scan.md.

Every problem is one :class:`InputError` naming the file and the column, raised before
anything is written.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from madoguchi import individualnumber
from madoguchi.era import EraError, parse_date
from madoguchi.municipality import check_digit, is_code

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PROGRAMMES",
    "ROW_RULES",
    "TABLES",
    "Column",
    "InputError",
    "RowRule",
    "Writer",
    "arrow_schema",
    "batches",
    "files",
    "is_uri",
    "load",
    "readers",
    "row_of",
    "validate",
    "validate_table",
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
    unique: bool = False
    """True: no two rows may hold the same value (the key the rules join on)."""
    pattern: str = ""
    """When set, a regular expression every value matches (RE2 and Java alike: pyarrow, DuckDB
    and Spark check the same one); ``unlike`` says what a value that does not is missing."""
    check_digit: bool = False
    """True: a value matching ``pattern`` ends in the 全国地方公共団体コード's check digit of the
    digits before it (``madoguchi.municipality``; DuckDB and Spark: ``check_digit_wrong_sql``)."""
    identifier: bool = False
    """True: an id column, where a value with an individual number's shape is refused
    (``INDIVIDUAL_NUMBER_PROBLEM``; DuckDB and Spark: ``individual_number_sql``)."""

    @property
    def max_length(self) -> int:
        """The most characters a value may have (0: any): ``ID_LENGTH`` for every ID."""
        return ID_LENGTH if self.name.endswith("_id") else 0


ID_LENGTH = 100
"""An ID's most characters (every ``…_id`` column: residents, households, links, terminals,
staff): a recorded run keeps them in columns of this length (``scans.models``), and ended in
the database's error after its files were written; refused in validation instead."""

TOO_LONG = (
    f"an ID is at most {ID_LENGTH} characters (a recorded run keeps each in a column of that "
    "length): give the register's own ID, not a description or several joined"
)


def too_long(length: int, *, many: bool = False) -> str:
    """Why an ID of ``length`` characters (over ``ID_LENGTH``) is refused, after "row N has"
    (``many``: after "N rows have", the first's length). The value itself is never echoed: an
    ID is refused by its file, column, row and length only (what was joined in it may be
    individual numbers, which the individual-number check reads only as whole ids)."""
    one = f"{length} characters (not shown)"
    return f"{'values such as one of' if many else 'a value of'} {one}: {TOO_LONG}"


STR = pa.string()
MUNICIPALITY_CODE = r"^[0-9]{6}\z"
"""A 全国地方公共団体コード: exactly six ASCII digits (``\\z``: no line break after them). For
RE2 and Java only: Python's own ``re`` reads ``\\z`` from 3.14, so never hand it to ``re``."""


def check_digit_wrong_sql(name: str) -> str:
    """SQL that DuckDB and Spark read alike: true where the six digits in column ``name``
    (quoted for the engine) do not end in the check digit of the five before (weights 6 to 2,
    modulo 11, ``madoguchi.municipality``); null for a value that is not six digits, which
    ``MUNICIPALITY_CODE`` refuses first."""
    digit = [f"TRY_CAST(substring({name}, {i}, 1) AS INT)" for i in range(1, 7)]
    weighted = " + ".join(f"{w} * {d}" for w, d in zip((6, 5, 4, 3, 2), digit[:5], strict=True))
    return f"(length({name}) = 6 AND (11 - ({weighted}) % 11) % 10 <> {digit[5]})"


INDIVIDUAL_NUMBER_PROBLEM = (
    "a value of 12 digits (not shown; perhaps in groups of four or in full-width digits) whose "
    "last is the check digit of an individual number (個人番号): the scan never reads, stores or shows an individual number, so an export "
    "keyed by it is refused; give the city's own ids instead (the 宛名番号, staff and terminal "
    "numbers). If these ids are not individual numbers (one 12-digit id in ten ends in that "
    "digit by chance), write every id of the input with a letter before it, the same way in "
    "every table (R123456789012); nothing was written"
)
"""An id column (``Column.identifier``) holding twelve digits that end in the individual
number's check digit (``madoguchi.individualnumber``: ASCII digits, alone or in the card's
groups of four with a space or hyphen between, or full-width digits), after "row N has":
refused, and never
echoed (the ids were written whole into findings.parquet, the report, the officials' findings
and their pages). Checked so by ``schema``, DuckDB's fast validation and Spark's."""


def individual_number_sql(name: str, *, spark: bool = False) -> str:
    """SQL true where the text column ``name`` (quoted for the engine) holds twelve digits
    whose last is the individual number's check digit (``madoguchi.individualnumber``), false
    otherwise: twelve ASCII digits (12 bytes), the same in the card's groups of four with a
    space or hyphen between (14 bytes), or twelve full-width digits (36 bytes), as
    ``individualnumber.written_as_digits`` reads them. A CASE, so that a value of none of
    those byte lengths costs one length test (DuckDB's ``strlen``, Spark's ``octet_length``:
    bytes, not characters to count), and one of them a digit test more (DuckDB's GLOB, a
    fifth of RE2's CPU; Spark's ``rlike``) on its digits; only twelve ASCII digits are
    weighed."""
    length = "octet_length" if spark else "strlen"
    seps = ", ".join(f"'{c}'" for c in individualnumber.SEPARATORS)
    grouped = (
        f"CASE WHEN substring({name}, 5, 1) IN ({seps}) AND substring({name}, 10, 1) IN "
        f"({seps}) THEN substring({name}, 1, 4) || substring({name}, 6, 4) || "
        f"substring({name}, 11, 4) END"
    )
    wide = f"translate({name}, '{individualnumber.FULL_WIDTH}', '0123456789')"
    n = f"(CASE {length}({name}) WHEN 12 THEN {name} WHEN 14 THEN {grouped} ELSE {wide} END)"
    digits = f"{n} RLIKE '^[0-9]{{12}}$'" if spark else f"{n} GLOB '{'[0-9]' * 12}'"
    digit = [f"(ascii(substring({n}, {i}, 1)) - 48)" for i in range(1, 13)]
    weighted = " + ".join(
        f"{w} * {d}" for w, d in zip(individualnumber.WEIGHTS, digit[:11], strict=True)
    )
    return (
        f"(CASE WHEN {length}({name}) NOT IN (12, 14, 36) THEN false WHEN "
        f"coalesce({digits}, false) THEN (11 - ({weighted}) % 11) % 11 % 10 = {digit[11]} "
        "ELSE false END)"
    )


def _individual_numbers(col: pa.Array) -> int | None:
    """The first index of ``col`` (text) holding an individual number's shape, or None. Only
    values of 12, 14 or 36 bytes (``individual_number_sql``) are read in Python: other ids
    cost one length test."""
    lengths = pa.array([12, 14, 36], pa.int32())
    twelve = pc.is_in(pc.binary_length(col), value_set=lengths).fill_null(False)
    if not pc.any(twelve).as_py():
        return None
    places = np.flatnonzero(twelve.to_numpy(zero_copy_only=False))
    for place, value in zip(places, col.filter(twelve).to_pylist(), strict=True):
        if individualnumber.is_individual_number(value):
            return int(place)
    return None


ACCOUNT_HASH = r"^[0-9a-f]{64}\z"
"""An account's keyed hash, in the one form madoguchi's registrations write it
(``benefits.identifiers.identifier_hash``: HMAC-SHA256 as 64 hexadecimal digits in lower
case), the form a case opened from a finding compares what the resident presents with.
Anything else is refused, and never echoed (``shown``): an account number written with any
separators (``0005/001/1/1234567``, ``(0005)001-1234567``), a note (``普通 1234567``), another
system's hash (which no case could compare) or a hash in upper case. Until the forty-fourth
session only digits with spaces or hyphens were refused, and the rest stored whole."""

_NUMBER_LIKE = re.compile(r"[\W_0-9０-９]*[0-9０-９][\W_0-9０-９]*")
"""A value of digits and separators alone (no letter, kana or kanji): an account number."""

_READING_RANGES = (
    (0x20, 0x20),  # space
    (0x27, 0x27),  # ' (O'NEIL)
    (0x2C, 0x2E),  # , - .
    (0x30, 0x39),  # 0-9
    (0x3D, 0x3D),  # = (a foreign name's double hyphen)
    (0x41, 0x5A),  # A-Z
    (0x61, 0x7A),  # a-z
    (0x3000, 0x3000),  # the full-width space
    (0x3041, 0x3096),  # hiragana ぁ-ゖ
    (0x3099, 0x309F),  # voiced marks ゛゜ (and combining), ゝ ゞ ゟ
    (0x30A0, 0x30FF),  # katakana ゠ ァ-ヺ ・ ー ヽ ヾ ヿ
    (0x31F0, 0x31FF),  # small katakana ㇰ-ㇿ
    (0xFF0D, 0xFF0D),  # －
    (0xFF10, 0xFF19),  # ０-９
    (0xFF1D, 0xFF1D),  # ＝
    (0xFF21, 0xFF3A),  # Ａ-Ｚ
    (0xFF41, 0xFF5A),  # ａ-ｚ
    (0xFF65, 0xFF9F),  # half-width ･ ｦ-ﾝ ﾞ ﾟ (ｰ among them)
)
"""The characters a reading (``residents.name_kana``) may hold: kana (katakana, hiragana,
half-width katakana, their marks), Latin letters and digits (half- or full-width: a foreign
resident's name written so, as the desk takes it), and the marks a name's parts are written
with (spaces, the long-vowel mark ー and a hyphen, the middle dot ・, the double hyphen ＝,
``' , .``). Each one the name check (docs/name-check.md) reads as kana, a Latin letter or
digit, a long vowel or a space between words, never as a kanji or another script
(``tests/scan/test_round22_input.py`` holds this)."""

READING = (
    "^["
    + "".join(
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}"
        for lo, hi in _READING_RANGES
    )
    + "]*\\z"
)
"""``_READING_RANGES`` as a pattern RE2 (pyarrow, DuckDB) and Java (Spark) read alike."""

_KANJI = re.compile("[\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def _not_read(value: str) -> tuple[int, str] | None:
    """The first character of ``value`` a reading may not hold (``_READING_RANGES``), with
    its place (1-based), or None."""
    for place, ch in enumerate(value, start=1):
        if not any(lo <= ord(ch) <= hi for lo, hi in _READING_RANGES):
            return place, ch
    return None


NUL_PROBLEM = (
    "a NUL character (the byte 0x00; the value not shown): text holds none (a fixed-width "
    "export pads its values with them; a recorded run keeps the text in a database that "
    "cannot hold one); remove them and export again; nothing was written"
)
"""A text value holding U+0000, after "row N has": refused in validation, by ``schema``,
DuckDB's fast validation and Spark alike (until the forty-fourth session ``scan run --record``
wrote findings.parquet and the report, then ended in PostgreSQL's "text fields cannot contain
NUL" traceback)."""

EARLIEST = "2016-01-01 00:00:00"
"""The first time the input's dates and times (``linked_at``, ``at``) may hold: a link of the
scan's programmes is made with the individual number card, first issued in January 2016."""
UNTIL = "2100-01-01 00:00:00"
"""The input's times are before this: a later one is a slip of the keys (2202 for 2022) or a
legacy system's "no date" (9999-12-31), and the report dates each finding in Japan's eras and
shows the desk log 10 minutes past it (9999-12-31 23:55 ended the run in an OverflowError)."""

OUT_OF_RANGE = (
    "outside the times the scan reads ({earliest} to {last}): a link is made with the "
    "individual number card, first issued in January 2016, so an earlier time is a slip of the "
    'keys (1026 for 2026?), and a later one a slip too or a "no date" placeholder '
    "(9999-12-31); give the time it happened; nothing was written"
)
"""A ``linked_at`` or ``at`` before ``EARLIEST`` or from ``UNTIL`` on, after "row N has TIME,"."""


def out_of_range() -> str:
    return OUT_OF_RANGE.format(earliest=EARLIEST[:10], last="2099-12-31")


LAST4 = r"^.{0,4}\z"
"""An account's last 4: at most four characters. The findings, the report and the officials'
pages show it, so a longer value (the whole account number, given by mistake) is refused."""


def shown(value: object, column: str, *, many: bool = False) -> str:
    """``value`` (the first of ``many``) as a refusal quotes it: an account number given for
    its hash is not quoted (nor written anywhere: nothing is written when the input is
    refused), nor is a reading (``unlike`` names the character it may not hold)."""
    if column == "account_hash":
        text = str(value)
        kind = "digits and separators" if _NUMBER_LIKE.fullmatch(text) else "characters"
        one = f"{len(text)} {kind} (not shown)"
        return f"values such as one of {one}" if many else f"a value of {one}"
    if column == "name_kana":
        one = f"{len(str(value))} characters"
        return f"readings such as one of {one}" if many else f"a reading of {one}"
    return f"values such as {value!r}" if many else f"value {value!r}"


def unlike(value: object, column: str = "municipality_code") -> str:
    """Why ``value`` does not match ``column``'s pattern, after "has VALUE": an account's last
    4 that is longer; a municipality code that is not one, for five digits that Excel
    probably dropped the leading 0 (it reads ``013013`` as the number 13013) and how to keep
    it."""
    text = str(value)
    if column == "account_hash":
        if _NUMBER_LIKE.fullmatch(text):
            return (
                ": an account number itself, not its keyed hash; give the keyed hash, as "
                "madoguchi's registrations hash it (docs/scan.md), never the number"
            )
        if re.fullmatch("[0-9a-fA-F]{64}", text):
            return (
                ", a keyed hash in upper case: write its 64 hexadecimal digits in lower case, "
                "as madoguchi's registrations write them (a case compares them as written)"
            )
        return (
            ", not a keyed hash: account_hash is HMAC-SHA256 of what the link registered, "
            "as 64 hexadecimal digits in lower case, as madoguchi's registrations hash it "
            "(docs/scan.md), the form a case compares what the resident presents with; give "
            "that, never the number or a note about it"
        )
    if column == "name_kana":
        found = _not_read(text)
        place, ch = found if found is not None else (0, "")
        kind = "a kanji" if _KANJI.match(ch) else "a character a reading does not hold"
        also = "; the name in kanji belongs in name_kanji" if _KANJI.match(ch) else ""
        return (
            f" with {ch!r} (U+{ord(ch or chr(0)):04X}, character {place}), {kind}: a reading "
            "(振り仮名) is the name in kana (katakana, hiragana or half-width kana), or in "
            "Latin letters for a name written so, with spaces, the long-vowel mark (ー) and "
            f"the middle dot (・) between its parts{also}; nothing was written"
        )
    if column == "account_last4":
        return (
            f", {len(text)} characters: give only the account's last 4 (the findings, the report "
            "and the officials' pages show this column; the account itself is account_hash)"
        )
    if re.fullmatch("[0-9]{6}", text) and not is_code(text):
        return (
            ", not a municipality code (全国地方公共団体コード: its last digit is the check digit "
            f"of the five before, and the check digit of {text[:5]} is {check_digit(text[:5])}, "
            f"not {text[5]}): check that the code was copied right"
        )
    why = ", not a municipality code (全国地方公共団体コード: exactly 6 digits)"
    if re.search("[０-９]", text):
        why += ": it has full-width digits (０-９): write them half-width (0-9)"
    elif re.fullmatch("[0-9]{5}", text):
        why += (
            f": Excel probably dropped its leading 0 (was it '0{text}'?); format the column as "
            "text (文字列) before the codes are typed or imported, or open the CSV with "
            "the column's type set to text, then save it as CSV UTF-8"
        )
    return why


TS = pa.timestamp("us")
TIME_TEXT = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]{1,9})?\z"
"""A date and time as text (CSV, or Parquet text): ``YYYY-MM-DDTHH:MM:SS``, a space for the
``T``, one digit or two for each field after the year (Excel's ``yyyy-m-d h:mm:ss`` writes
``2022-8-01 9:00:00``) and up to 9 digits of fraction (SQL Server's ``datetime2(7)`` writes 7),
read to the microsecond (digits beyond the sixth dropped, as Spark's cast drops them). RE2 and
Java alike: ``schema``, DuckDB (through ``schema.batches``) and Spark accept the same values."""
DATE_TEXT = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}\z"
"""A date as text: ``YYYY-MM-DD``, one digit or two for the month and the day."""
JAPAN = "Asia/Tokyo"
"""The zone of the input's times: naive ones are Japan's wall clock; a zoned one is read as
the wall-clock time in Japan of its instant."""

TABLES: dict[str, tuple[Column, ...]] = {
    "residents": (
        Column("resident_id", STR, unique=True, identifier=True),
        Column("name_kana", STR, pattern=READING),
        Column("name_kanji", STR, required=False),
        Column("birth_date", pa.date32(), required=False),
        Column("household_id", STR, identifier=True),
        Column("municipality_code", STR, pattern=MUNICIPALITY_CODE, check_digit=True),
    ),
    "links": (
        Column("link_id", STR, unique=True, identifier=True),
        Column("programme", STR, values=PROGRAMMES),
        Column("resident_id", STR, identifier=True),
        Column("account_hash", STR, pattern=ACCOUNT_HASH),
        Column("account_last4", STR, required=False, pattern=LAST4),
        Column("holder_kana", STR, required=False),
        Column("linked_at", TS),
        Column("channel", STR, values=CHANNELS),
        Column("municipality_code", STR, pattern=MUNICIPALITY_CODE, check_digit=True),
        Column("terminal_id", STR, required=False, identifier=True),
        Column("staff_id", STR, required=False, identifier=True),
    ),
    "desk_events": (
        Column("terminal_id", STR, identifier=True),
        Column("at", TS),
        Column("event", STR, values=EVENTS),
        Column("staff_id", STR, required=False, identifier=True),
        Column("resident_id", STR, required=False, identifier=True),
        Column("link_id", STR, required=False, identifier=True),
    ),
}


@dataclass(frozen=True)
class RowRule:
    """A column a row must fill (``filled``) or leave empty (not ``filled``) when another of
    its columns (``when``, a column with ``values``) holds one of ``among``."""

    column: str
    when: str
    among: tuple[str, ...]
    filled: bool
    why: str
    """Why, and what to do, after the row is named (a clause of the refusal's sentence)."""


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "links": (
        RowRule(
            "terminal_id",
            "channel",
            ("desk",),
            True,
            "a desk link names the terminal it was made at (the report's evidence timeline "
            "and a case's desk are read from it); give it, or channel 'self' if the resident "
            "made the link themself",
        ),
        RowRule(
            "staff_id",
            "channel",
            ("desk",),
            True,
            "a desk link names the staff member who committed it (the report says whose name "
            "it was committed under); give it, or channel 'self' if the resident made the "
            "link themself",
        ),
        RowRule(
            "staff_id",
            "channel",
            ("self",),
            False,
            "a self link is one the resident made themself, which no staff member commits; a "
            "link a staff member made or helped make at a desk is channel 'desk' (with its "
            "terminal_id), otherwise leave staff_id empty",
        ),
    ),
    "desk_events": (
        RowRule(
            "link_id",
            "event",
            ("commit",),
            True,
            "a commit is the desk evidence of the link it made, found by its link_id; without "
            "it that link is scanned as if no desk had committed it",
        ),
        RowRule(
            "resident_id",
            "event",
            ("card_read",),
            True,
            "a card read names the resident whose card was read (the evidence of a logout "
            "omission); give it",
        ),
        RowRule(
            "staff_id",
            "event",
            ("login", "commit"),
            True,
            "a login names the staff member who signed in, a commit the one it was committed "
            "under (a commit under no signed-in staff member is a lent terminal); give it",
        ),
    ),
}
"""The rules between a row's columns (docs/scan.md, input format), checked after each column's
own: ``schema``, DuckDB (``engine.Engine.validate``) and Spark check the same ones."""


def row_ident(table: str, row: dict[str, object]) -> str:
    """A row as a person finds it in the file besides its number, never by an ID (a refusal
    echoes no ID: ``too_long``): a desk event by its time, a link by its number alone ("")."""
    if table == "links":
        return ""
    at = row.get("at")
    shown = at.isoformat(sep=" ") if hasattr(at, "isoformat") else str(at)
    return f"at {shown}"


def row_rule_problem(
    rule: RowRule, row: int, ident: str, when: object, value: object, count: int = 1
) -> str:
    """The refusal of ``count`` rows breaking ``rule``, the first at ``row`` (as a person
    numbers it) and named by ``ident`` (``row_ident``; "" for none), holding ``when`` in
    ``rule.when`` and ``value``. An ID's value is never shown, only its column."""
    named = f" ({ident})" if ident else ""
    if rule.filled:
        has, held = f"no {rule.column}", ""
    elif rule.column.endswith("_id"):
        has, held = f"a {rule.column}", ""
    else:
        has, held = f"a {rule.column}", f" {value!r}"
    if count == 1:
        return f"row {row}{named} has {rule.when} {when!r} and {has}{held}: {rule.why}"
    also = [ident] if ident else []
    if held:
        also.append(f"{rule.column}{held}")
    said = f" ({', '.join(also)})" if also else ""
    return (
        f"{count:,} rows have {rule.when} {when!r} and {has}; the first is row {row}"
        f"{said}: {rule.why}"
    )


class InputError(ValueError):
    """Bad input: one message naming the file and the column (English; the CLI prints it)."""

    def __init__(self, file: str, column: str | None, problem: str) -> None:
        self.file = file
        self.column = column
        # One line whatever the cause's message holds (a library's may span several).
        problem = "; ".join(line.strip() for line in problem.splitlines() if line.strip())
        self.problem = problem
        where = f"{file}, column {column!r}" if column else file
        super().__init__(f"{where}: {problem}")


# A spreadsheet's own files, which the scan does not read (`_find` says to save it as CSV).
_WORKBOOKS = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".numbers"})


def _find(directory: Path, table: str) -> Path:
    found = [p for p in (directory / f"{table}.parquet", directory / f"{table}.csv") if p.exists()]
    parts = [p for p in (*found, directory / table) if p.is_dir()]
    if parts:
        raise InputError(
            str(parts[0]),
            None,
            "is a directory (a table written in parts, as Spark or pandas write one), not one "
            f"file: the scan reads each table from one file; write its parts into one "
            f"{table}.parquet (e.g. in DuckDB: COPY (FROM '{parts[0].name}/*.parquet') TO "
            f"'{table}-one.parquet'), then give that file as {table}.parquet",
        )
    if not found:
        # A workbook saved as it is (links.xlsx): the scan reads no Excel file; say how to
        # give it, rather than that the table is missing when its file is right there.
        sheets = sorted(
            p.name for p in directory.glob(f"{table}.*") if p.suffix.lower() in _WORKBOOKS
        )
        saved = (
            f"; {sheets[0]} is a spreadsheet's own file, which the scan does not read: save "
            f'it as {table}.csv (in Excel, "CSV UTF-8 (コンマ区切り)")'
            if sheets
            else ""
        )
        raise InputError(
            str(directory / f"{table}.parquet"),
            None,
            f"missing: give {table}.parquet or {table}.csv{saved}",
        )
    if len(found) > 1:
        raise InputError(
            str(found[1]), None, f"both {table}.parquet and {table}.csv exist; keep one"
        )
    return found[0]


BATCH_ROWS = 1 << 18
"""Rows checked at a time (Parquet): validation holds one batch of one table, whatever the file
size."""
CSV_BLOCK_BYTES = 16 << 20
"""Bytes of CSV read at a time (a batch)."""


def row_number(path: Path | str, index: int) -> int:
    """The row a person finds the ``index``-th (0-based) row of the file at: in CSV counting the
    header as row 1 (as a spreadsheet shows it), in Parquet (no header row) from 1."""
    return index + (2 if str(path).endswith(".csv") else 1)


SNIFF_BYTES = 1 << 20
"""Bytes of a CSV's start read to tell its encoding (``csv_encoding``)."""

SHIFT_JIS = "cp932"
"""Shift_JIS as Windows and a Japanese Excel write it (Microsoft's code page 932: NEC and IBM
characters included; Python's ``shift_jis`` refuses them)."""


def csv_encoding(path: Path) -> str:
    """``"utf-8-sig"`` (UTF-8, a BOM or not) or ``SHIFT_JIS``: what the CSV's first
    ``SNIFF_BYTES`` read as. Shift_JIS only when they are not UTF-8, are Shift_JIS, and are not
    EUC-JP too (half-width kana alone can read as either: such a file is left to the UTF-8
    reading, which refuses it naming its row). A file that is neither is read as UTF-8 and
    refused so (``_not_utf8``)."""
    return encoding_of(_head(path))


def encoding_of(head: bytes) -> str:
    """``csv_encoding`` of a CSV whose first ``SNIFF_BYTES`` are ``head`` (Spark's reading of a
    URI sniffs its file's start so too)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-8-sig"
    if _decodes(head, "utf-8") or not _decodes(head, SHIFT_JIS) or _decodes(head, "euc_jp"):
        return "utf-8-sig"
    return SHIFT_JIS


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(SNIFF_BYTES)


def _decodes(data: bytes, encoding: str) -> bool:
    """Whether ``data`` (a file's start: its last character may be cut) reads as ``encoding``."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8(path: Path) -> InputError:
    """A CSV that is not UTF-8: the first row holding a byte that is not, and whether that row
    reads as Shift_JIS, which a Japanese Excel's plain "CSV (コンマ区切り)" saves (read line
    by line, only once the file has been refused)."""
    with path.open("rb") as head:
        bom = head.read(2)
    if bom in (b"\xff\xfe", b"\xfe\xff"):
        return InputError(
            str(path),
            None,
            'is UTF-16 text (Excel\'s "Unicode テキスト" saves it so, separated by tabs), not '
            'UTF-8: save it as UTF-8, separated by commas (in Excel, "CSV UTF-8 (コンマ区切り)")',
        )
    read = csv_encoding(path)
    where, sjis = "", False
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                line.decode("utf-8" if read != SHIFT_JIS else SHIFT_JIS)
            except UnicodeDecodeError as exc:
                where = f": row {number} holds the byte 0x{line[exc.start]:02x}"
                sjis = _decodes(line, SHIFT_JIS)
                break
    save = 'save it as UTF-8 (in Excel, "CSV UTF-8 (コンマ区切り)")'
    if read == SHIFT_JIS:
        return InputError(
            str(path),
            None,
            f"is read as Shift_JIS (its start is), but{where.removeprefix(':')} that is part "
            f"of no Shift_JIS character: {save}",
        )
    start = _head(path)
    if sjis and not _decodes(start, "utf-8") and _decodes(start, "euc_jp"):
        how = (
            ", and its start reads as Shift_JIS and as EUC-JP alike (half-width kana only?), "
            "so which is not known"
        )
    else:
        how = ', as Shift_JIS does (Excel\'s "CSV (コンマ区切り)")' if sjis else ""
    return InputError(str(path), None, f"is not UTF-8 text{where}{how}: {save}")


def _raw_batches(path: Path, table: str, only: str | None = None) -> Iterator[pa.RecordBatch]:
    """The file's batches, only the format's columns (a missing one is an error before any row
    is read), or only the column ``only``. CSV columns come as text: types are checked column
    by column, with a message."""
    wanted = [only] if only else [c.name for c in TABLES[table]]
    try:
        if path.suffix == ".csv":
            encoding = csv_encoding(path)
            with path.open(encoding=encoding, newline="") as fh:
                header = next(csv.reader(fh), None)
            if header is None:
                raise InputError(
                    str(path), None, "is empty: a CSV table needs a header row naming its columns"
                )
            _require_columns(path, table, header)
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(
                    block_size=CSV_BLOCK_BYTES,
                    encoding="utf8" if encoding != SHIFT_JIS else SHIFT_JIS,
                ),
                # A quoted value may hold a line break (a spreadsheet's cell of two lines):
                # without this, one that falls on a block's boundary cut its row in two.
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={h: pa.string() for h in header},
                    strings_can_be_null=False,
                    include_columns=wanted,
                ),
            )
            first = True
            for batch in reader:
                first = False
                yield batch
            if first:
                yield pa.RecordBatch.from_pylist([], schema=reader.schema)
        else:
            # Without pre-buffering: pre-buffered column chunks stay cached until the whole
            # file is read (2.5 GB of links at 100M); read this way one row group is held.
            pf = pq.ParquetFile(path, pre_buffer=False)
            _require_columns(path, table, pf.schema_arrow.names)
            first = True
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                first = False
                yield batch
            if first:
                yield pa.RecordBatch.from_pylist(
                    [], schema=pa.schema([pf.schema_arrow.field(n) for n in wanted])
                )
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    except csv.Error as exc:  # the header row: a quote left open ran it past the field limit
        raise InputError(
            str(path),
            None,
            f"cannot be read: its header row is not one line of column names ({exc}; a quote "
            "left open?)",
        ) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        if path.suffix == ".csv" and "invalid UTF8" in str(exc):
            raise _not_utf8(path) from exc
        if path.suffix != ".csv" and path.stat().st_size == 0:
            raise InputError(str(path), None, "is empty (0 bytes), not a Parquet file") from exc
        raise InputError(str(path), None, _csv_problem(path, str(exc))) from exc


_COLUMNS_MISMATCH = re.compile(r"CSV parse error: Expected (\d+) columns, got (\d+): (.*)", re.S)


def _csv_problem(path: Path, message: str) -> str:
    """Arrow's "cannot be read" message; for a CSV row with too few or too many fields (a
    quote left open, a missing separator) also the row, as a spreadsheet numbers it, found by
    the start of the row Arrow quotes (no row numbering in Arrow's own message)."""
    found = _COLUMNS_MISMATCH.search(message) if path.suffix == ".csv" else None
    if found is None:
        return f"cannot be read: {message}"
    expected, got, quoted = found.groups()
    start = quoted.strip().removesuffix(" ...")[:40]  # the row as the file has it
    row = None
    if start:
        with path.open(encoding=csv_encoding(path), errors="replace", newline="") as lines:
            for number, line in enumerate(lines, start=1):
                if line.startswith(start):
                    row = number
                    break
    where = f"row {row}" if row is not None else "a row"
    return (
        f"cannot be read: {where} has {got} fields where the header has {expected} (a quote "
        f"left open or a comma missing or extra?), starting {start!r}"
    )


def _require_columns(path: Path | str, table: str, names: list[str]) -> None:
    present = set(names)
    for spec in TABLES[table]:
        # A column named twice (a corrected copy pasted beside the original): which one the
        # rules read is not for the reader to guess (a CSV's first was read without a word, a
        # Parquet file's ended in a KeyError).
        places = [i + 1 for i, name in enumerate(names) if name == spec.name]
        if len(places) > 1:
            raise InputError(
                str(path),
                spec.name,
                f"is named {len(places)} times in the header (columns "
                f"{', '.join(str(p) for p in places)}): a table names each column once; remove "
                "or rename the extra ones; nothing was written",
            )
    for spec in TABLES[table]:
        if spec.name not in present:
            problem = missing_column(names, spec.name)
            if str(path).endswith(".csv") and len(names) == 1:
                for mark, word in (("\t", "tabs"), (";", "semicolons")):
                    if mark in names[0]:
                        problem += f"; the header is separated by {word}: separate it by commas"
                        break
            raise InputError(str(path), spec.name, problem)


def missing_column(names: list[str], wanted: str = "") -> str:
    """The problem of a missing column, with the columns the file has (a header in Japanese
    or with a typo shows itself). A column that differs from ``wanted`` only in spaces or
    case (what a spreadsheet's edit leaves: ``'linked_at '``, ``'Link_ID'``) is named first:
    in a list of eleven names the one space is easy to miss."""
    near = [n for n in names if n != wanted and n.strip().lower() == wanted.lower()]
    if wanted and near:
        return (
            f"missing column: the file has {near[0]!r}, which differs from {wanted!r} only in "
            "spaces or upper and lower case; column names are exact, as docs/scan.md lists them"
        )
    shown = ", ".join(repr(n) for n in names[:8]) + (", …" if len(names) > 8 else "")
    return (
        f"missing column (the file has {shown or 'no columns'}; column names are exact, as "
        "docs/scan.md lists them)"
    )


def _empty(col: pa.Array) -> pa.Array:
    """Null, the empty string, or only white space."""
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return pc.or_kleene(
            pc.is_null(col), pc.or_(pc.equal(col, ""), pc.utf8_is_space(col))
        ).fill_null(True)
    return pc.is_null(col)


NULL_WORDS = ("null", "\\n", "nan", "none", "<na>", "n/a", "#n/a")
"""What tools write for a missing value (SQL exports ``NULL``, MySQL's ``\\N``; pandas'
``astype(str)`` ``nan``, ``None`` and ``<NA>``; ``N/A`` and Excel's ``#N/A``): an optional text
column holding one of these, in any case and between white space, is empty, as ``""`` is (a
holder's name ``NULL`` was read as a name in Latin letters, close to every resident's). Read so
by ``schema``, DuckDB's view (``engine._blank_sql``) and Spark (``engine._SPARK_BLANK``)."""

_NULL_WORDS = pa.array(NULL_WORDS, STR)


NULL_WORD_PROBLEM = (
    "{value}, a word a tool writes for a missing value, where the column is required: give "
    "the value (a resident's household, an ID), or leave the row out"
)
"""A required text column holding one of ``NULL_WORDS``, after "row N has" (``shown``'s value):
refused, not read as a value (every resident with household ``NULL`` was one household, so a
mis-link to another was reported as a family account). Checked so by ``schema``, DuckDB's
fast validation (``engine._valid_rows``) and Spark's (``engine._spark_validate_table``)."""


def _null_words(col: pa.Array) -> pa.Array:
    """Where a text column holds one of ``NULL_WORDS`` (any case, between white space)."""
    return pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(col)), value_set=_NULL_WORDS).fill_null(
        False
    )


def _blank(col: pa.Array) -> pa.Array:
    """An optional text column's empty values: ``_empty``, or one of ``NULL_WORDS``."""
    return pc.or_(_empty(col), _null_words(col))


_EARLIEST = pa.scalar(np.datetime64(EARLIEST.replace(" ", "T"), "us"), TS)
_UNTIL = pa.scalar(np.datetime64(UNTIL.replace(" ", "T"), "us"), TS)


def _time_text(value: pa.Scalar) -> str:
    """A time as a refusal shows it (``2022-08-01 09:00:00``), also one Python's datetime
    cannot hold (a Parquet timestamp past the year 9999 or before the year 1)."""
    stamp = np.datetime64(value.cast(pa.int64()).as_py(), "us")
    return str(stamp).replace("T", " ").partition(".")[0]


def _first_row(mask: pa.Array) -> int:
    return int(pc.index(mask, True).as_py())


def _rolled_over(plain: pa.Array, parsed: pa.Array) -> pa.Array:
    """Where strptime moved an impossible day or second on instead of refusing it
    (`1990-02-30` parses as 2 March, `23:59:60` as the next minute): the day and the
    second it gives differ from the ones written."""
    parts = pc.extract_regex(plain, r"^\d+-\d+-(?P<d>\d+)(?:T\d+:\d+:(?P<s>\d+))?")
    day = pc.struct_field(parts, "d")
    second = pc.struct_field(parts, "s")
    wrong_day = pc.not_equal(pc.cast(day, pa.int64()), pc.day(parsed))
    given = pc.invert(pc.equal(second, ""))
    wrong_second = pc.and_kleene(
        given, pc.not_equal(pc.cast(pc.if_else(given, second, "0"), pa.int64()), pc.second(parsed))
    )
    return pc.or_kleene(wrong_day, wrong_second)


# A date in a Japanese era (和暦) at the start of a value: 令和5年4月1日, R5.4.1, 昭50.9.30 (the
# era's first kanji), 昭和五十年九月三十日 (kanji numerals, as a family register writes them); a time
# may follow.
_ERA_NUMBER = r"(?:\d{1,2}|[〇一二三四五六七八九十]{1,3})"
_ERA_DATE = re.compile(
    rf"(?P<era>明治|大正|昭和|平成|令和|[MTSHRmtshr明大昭平令])\s*(?P<y>元|{_ERA_NUMBER})\s*(?:年|[./-])\s*"
    rf"(?P<m>{_ERA_NUMBER})\s*(?:月|[./-])\s*(?P<d>{_ERA_NUMBER})日?"
)


def _era_hint(value: str) -> str:
    """For a date in a Japanese era (和暦: ``令和5年4月1日``, ``R5.4.1``), the same date as the
    format writes it, to say what to write instead (`era.parse_date`, the one reading of era
    dates); for one that is no day of its era (``S65.1.8``), that it is none."""
    found = _ERA_DATE.match(value)
    if found is None:
        return ""
    try:
        day = parse_date(f"{found['era']}{found['y']}.{found['m']}.{found['d']}")
    except EraError:
        return (
            f"; it is written as a date in a Japanese era (和暦), but {found.group(0)!r} is no "
            "day of that era: write the date in the Western calendar"
        )
    return (
        f"; it is a date in a Japanese era (和暦): write it in the Western calendar "
        f"({value!r} is {day.isoformat()})"
    )


def _date_hint(value: str, when: bool) -> str:
    """What a person can do about a date the way spreadsheets write them: Excel saves a date
    column as it shows it (``2023/4/1 9:05``), Japanese input gives full-width digits and a
    register dates in a Japanese era."""
    if _era_hint(value):
        return _era_hint(value)
    if re.search(r"[０-９]", value):
        return "; it has full-width digits (０-９): write them half-width (0-9)"
    if when and re.search(r"\d(Z|[+-]\d{2}:?\d{2})$", value):
        return (
            "; it has a time zone: write the time on Japan's clock without one "
            "(2022-10-01T10:52:16), as the other times of the input are"
        )
    if re.match(r"\d{4}/\d{1,2}/\d{1,2}", value):
        shape = "yyyy-mm-dd hh:mm:ss" if when else "yyyy-mm-dd"
        return (
            f"; a spreadsheet saves dates as it shows them: format the column as {shape} "
            "before saving the CSV"
        )
    return ""


def _with_fraction(text: pa.Array, parsed: pa.Array) -> pa.Array:
    """The times ``parsed`` (to the second, from ``text`` without its fraction) with the
    fraction of a second ``text`` gives, to the microsecond: its first six digits (``.5`` is
    500,000 µs; ``.1234567`` is 123,456 µs, the seventh digit dropped as Spark's cast drops
    it)."""
    if not pc.any(pc.match_substring(text, ".")).as_py():
        return parsed
    digits = pc.struct_field(pc.extract_regex(text, r"\.(?P<f>[0-9]{1,9})$"), "f")
    micros = pc.utf8_rpad(pc.utf8_slice_codeunits(digits, 0, 6), 6, "0")
    micros = pc.cast(micros, pa.int64()).fill_null(0).cast(pa.duration("us"))
    return pc.add(parsed, micros)


def _convert(path: Path, spec: Column, col: pa.Array, offset: int) -> pa.Array:
    src = col.type
    if spec.type == src:
        return col
    if pa.types.is_null(src):  # a column with no value at all
        return col.cast(spec.type)
    if pa.types.is_dictionary(src) and (
        pa.types.is_string(src.value_type) or pa.types.is_large_string(src.value_type)
    ):
        # Text stored dictionary-encoded (pandas' "category" columns, written by to_parquet):
        # the same text, read as text.
        col = col.cast(src.value_type)
        src = col.type
        if spec.type == STR:
            return col.cast(STR)
    is_text = pa.types.is_string(src) or pa.types.is_large_string(src)
    if spec.type == STR:
        if is_text:
            return col.cast(STR)
        if pa.types.is_integer(src):
            return col.cast(STR)
        raise InputError(str(path), spec.name, wrong_type(spec.type, src))
    if is_text:
        text = pc.if_else(_empty(col), pa.scalar(None, STR), col.cast(STR))
        when = spec.type == TS
        fmt = "%Y-%m-%dT%H:%M:%S" if when else "%Y-%m-%d"
        # The shape first (strptime alone also takes a space before a one-digit field and
        # more than four digits of year, which Spark reads otherwise or not at all).
        shaped = pc.match_substring_regex(text, TIME_TEXT if when else DATE_TEXT)
        if when:  # accept a space between date and time, and fractions of a second
            text = pc.replace_substring(text, " ", "T", max_replacements=1)
        plain = pc.replace_substring_regex(text, r"\.[0-9]{1,9}$", "") if when else text
        parsed = pc.strptime(plain, fmt, "us", error_is_null=True)
        rolled = _rolled_over(plain, parsed).fill_null(False)
        unread = pc.or_kleene(pc.invert(shaped), pc.is_null(parsed))
        bad = pc.or_(pc.and_(unread, pc.invert(pc.is_null(text))).fill_null(False), rolled)
        if pc.any(bad).as_py():
            row = _first_row(bad)
            kind = "date and time (YYYY-MM-DDTHH:MM:SS)" if when else "date (YYYY-MM-DD)"
            value = col[row].as_py()
            why = ": no such day or second on the calendar" if rolled[row].as_py() else ""
            raise InputError(
                str(path),
                spec.name,
                f"row {row_number(path, offset + row)} has {value!r}, not a {kind}{why}"
                + _date_hint(value, when),
            )
        if when:
            return _with_fraction(text, parsed)
        return parsed.cast(pa.date32())
    if pa.types.is_timestamp(src) and spec.type == TS:
        if src.unit == "ns":
            # Nanoseconds (pandas, SQL Server's datetime2(7)): to the microsecond, the digits
            # beyond it dropped as a time's text drops them (the cast alone refused to lose
            # them, in Arrow's bare "would lose data", no file, column or row).
            col = pc.floor_temporal(col, unit="microsecond")
            col = col.cast(pa.timestamp("us", src.tz), safe=False)
        if src.tz is None:
            return col.cast(TS)
        # A zoned timestamp is an instant: read on Japan's clock, as the naive times of the
        # other tables are (on UTC's it came out 9 hours early and the evidence no longer
        # lined up).
        return pc.local_timestamp(col.cast(pa.timestamp("us", JAPAN))).cast(TS)
    if pa.types.is_date(src) and spec.type == pa.date32():
        return col.cast(pa.date32())
    if pa.types.is_timestamp(src) and spec.type == pa.date32():
        return col.cast(pa.date32())
    raise InputError(str(path), spec.name, wrong_type(spec.type, src))


def _type_words(t: pa.DataType) -> str:
    if t == STR or pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_timestamp(t):
        return "dates and times"
    if pa.types.is_date(t):
        return "dates"
    if pa.types.is_integer(t):
        return "whole numbers"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "decimal numbers"
    if pa.types.is_boolean(t):
        return "true/false values"
    return "values"


def wrong_type(expected: pa.DataType, found: pa.DataType | str) -> str:
    """The problem of a column stored in another type, in words (the stored type after it)."""
    words = _type_words(found) if isinstance(found, pa.DataType) else "values"
    want = {STR: "text", TS: "dates and times"}.get(expected, "dates")
    return f"holds {words} ({found}) where the format has {want} (see docs/scan.md)"


NO_ROWS = (
    "has no rows: residents and links need at least one each (nothing to scan); desk_events "
    "alone may be empty (its header only), as for a city whose links are all self-service"
)

MAY_BE_EMPTY = frozenset({"desk_events"})
"""The tables that may have no rows: a city whose links are all ``self`` has no desk log, and
the rules that need none (a typed wrong ID, a family account) still apply to its links."""


def has_rows(table: str, rows: int) -> bool:
    """Whether a table of ``rows`` rows has the rows the format asks of it (``NO_ROWS``)."""
    return bool(rows) or table in MAY_BE_EMPTY


def _validate(path: Path, table: str, raw: pa.RecordBatch, offset: int) -> pa.RecordBatch:
    """Check one batch (its first row is row ``offset`` of the file) and return it in the
    format's types, empty optional text as null."""
    arrays = []
    for spec in TABLES[table]:
        col = _convert(path, spec, raw.column(spec.name), offset)
        if spec.type == STR and col.null_count < len(col):
            nul = pc.match_substring(col, "\x00").fill_null(False)
            if pc.any(nul).as_py():
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + _first_row(nul))} has {NUL_PROBLEM}",
                )
        if spec.type == TS and col.null_count < len(col):
            outside = pc.or_(pc.less(col, _EARLIEST), pc.greater_equal(col, _UNTIL)).fill_null(
                False
            )
            if pc.any(outside).as_py():
                row = _first_row(outside)
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + row)} has {_time_text(col[row])}, "
                    + out_of_range(),
                )
        if spec.required:
            empty = _empty(col)
            if pc.any(empty).as_py():
                row = _first_row(empty)
                if _trailing_blank_rows(path, raw.slice(row, 1)):
                    raise InputError(str(path), None, blank_row_problem(path, offset + row))
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + row)} is empty (required)",
                )
            if spec.type == STR:
                words = _null_words(col)
                if pc.any(words).as_py():
                    row = _first_row(words)
                    raise InputError(
                        str(path),
                        spec.name,
                        f"row {row_number(path, offset + row)} has "
                        + NULL_WORD_PROBLEM.format(value=shown(col[row].as_py(), spec.name)),
                    )
        elif spec.type == STR and col.null_count < len(col):
            col = pc.if_else(_blank(col), pa.scalar(None, STR), col)
        if spec.identifier and col.null_count < len(col):
            index = _individual_numbers(col)
            if index is not None:
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + index)} has {INDIVIDUAL_NUMBER_PROBLEM}",
                )
        if spec.values:
            bad = pc.invert(pc.is_in(col, value_set=pa.array(spec.values))).fill_null(False)
            bad = pc.and_(bad, pc.invert(pc.is_null(col)))
            if pc.any(bad).as_py():
                row = _first_row(bad)
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + row)} has unknown value {col[row].as_py()!r} "
                    f"(allowed: {', '.join(spec.values)})",
                )
        if spec.pattern:
            bad = pc.invert(pc.match_substring_regex(col, spec.pattern)).fill_null(False)
            if spec.check_digit:
                # The codes are few (a country has about 1,700): each distinct one checked once.
                wrong = [c for c in pc.unique(col).to_pylist() if c is not None and not is_code(c)]
                bad = pc.or_(bad, pc.is_in(col, value_set=pa.array(wrong, STR)).fill_null(False))
            if pc.any(bad).as_py():
                row = _first_row(bad)
                value = col[row].as_py()
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + row)} has {shown(value, spec.name)}"
                    f"{unlike(value, spec.name)}",
                )
        if spec.max_length:
            bad = pc.greater(pc.utf8_length(col), spec.max_length).fill_null(False)
            if pc.any(bad).as_py():
                row = _first_row(bad)
                raise InputError(
                    str(path),
                    spec.name,
                    f"row {row_number(path, offset + row)} has {too_long(len(col[row].as_py()))}",
                )
        arrays.append(col)
    out = pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(table))
    _check_row_rules(path, table, out, offset)
    return out


def _check_row_rules(path: Path, table: str, batch: pa.RecordBatch, offset: int) -> None:
    """Refuse the first row of ``batch`` (validated: optional empty text is null) breaking one
    of the table's ``ROW_RULES``."""
    for rule in ROW_RULES.get(table, ()):
        hit = pc.is_in(batch.column(rule.when), value_set=pa.array(rule.among)).fill_null(False)
        empty = pc.is_null(batch.column(rule.column))
        bad = pc.and_(hit, empty if rule.filled else pc.invert(empty))
        if pc.any(bad).as_py():
            index = _first_row(bad)
            row = batch.slice(index, 1).to_pylist()[0]
            raise InputError(
                str(path),
                rule.column,
                row_rule_problem(
                    rule,
                    row_number(path, offset + index),
                    row_ident(table, row),
                    row[rule.when],
                    row[rule.column],
                ),
            )


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table as :func:`batches` yields it."""
    return pa.schema([pa.field(c.name, c.type) for c in TABLES[table]])


def batches(path: Path, table: str) -> Iterator[pa.RecordBatch]:
    """Validated batches of one table's file, in the format's types (bounded memory: one batch
    at a time). Raises :class:`InputError` at the first problem, naming file, column and row."""
    offset = 0
    blank_from: int | None = None  # the first of the empty rows that ended the last batch
    for raw in _raw_batches(path, table):
        kept = raw.num_rows - _trailing_blank_rows(path, raw)
        if blank_from is not None and kept:
            raise InputError(str(path), None, blank_row_problem(path, blank_from))
        if kept:
            yield _validate(path, table, raw.slice(0, kept), offset)
        if kept < raw.num_rows and blank_from is None:
            blank_from = offset + kept
        offset += raw.num_rows


def _trailing_blank_rows(path: Path, raw: pa.RecordBatch) -> int:
    """How many rows at the end of a CSV batch have every column of the format empty (the
    rows of commas alone, ``,,,,,``, that a spreadsheet saves below a table whose cells were
    once formatted): left out, if nothing but such rows follows them. Parquet: none."""
    if not str(path).endswith(".csv") or not raw.num_rows:
        return 0
    blank = None
    for col in raw.columns:
        empty = _empty(col)
        blank = empty if blank is None else pc.and_(blank, empty)
    flags = np.asarray(blank)
    filled = np.flatnonzero(~flags)
    rows: int = raw.num_rows
    return rows if not len(filled) else rows - 1 - int(filled[-1])


def blank_row_problem(path: Path | str, index: int) -> str:
    return (
        f"row {row_number(path, index)} is empty (every column) and rows with values follow "
        "it: delete it (only empty rows at the end of the file are left out)"
    )


def _check_format(directory: Path) -> None:
    path = directory / "format.json"
    if not path.exists():
        return
    try:
        text = path.read_text("utf-8")
    except (ValueError, OSError) as exc:
        raise InputError(str(path), None, f"cannot be read: {exc}") from exc
    check_format(str(path), text)


def check_format(path: str, text: str) -> None:
    """Check ``format.json``'s content (``path`` names it in the error)."""
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise InputError(path, None, f"not valid JSON: {exc}") from exc
    example = f'{{"format": "{FORMAT_NAME}", "version": {FORMAT_VERSION}}}'
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        given = meta.get("format") if isinstance(meta, dict) else None
        said = f"has format {given!r}" if given is not None else 'names no "format"'
        raise InputError(path, None, f"{said}: a scan's format.json reads {example}")
    version = meta.get("version")
    if isinstance(version, str) and version.strip() == str(FORMAT_VERSION):
        raise InputError(
            path, None, f"has version {version!r} as text: write the number ({example})"
        )
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise InputError(
            path,
            None,
            f"version {version!r} is not supported (this madoguchi reads version "
            f"{FORMAT_VERSION}: {example})",
        )


def is_uri(directory: Path | str) -> bool:
    """Whether the input is named by a URI (``s3a://…``, ``hdfs://…``, ``file://…``): only
    Spark reads those (``engine.Engine.validate``); this module reads local paths."""
    return (
        isinstance(directory, str)
        and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", directory) is not None
    )


def files(directory: Path | str) -> dict[str, Path]:
    """The three tables' files (and ``format.json`` checked), without reading any row."""
    if is_uri(directory):
        raise InputError(
            str(directory),
            None,
            "a URI is read only by Spark: run with --engine spark (the default engine, "
            "DuckDB, reads local directories)",
        )
    directory = Path(directory)
    if not directory.is_dir():
        problem = "is a file, not a directory" if directory.exists() else "does not exist"
        raise InputError(str(directory), None, f"{problem}: give the directory of the three tables")
    _check_format(directory)
    _check_no_other_tables(directory)
    return {t: _find(directory, t) for t in TABLES}


NOT_INPUT = frozenset({"truth.parquet"})
"""Files of a scan's directory that are not its input: ``scan generate``'s ground truth, read
by ``scan evaluate`` alone."""


def _check_no_other_tables(directory: Path) -> None:
    """Refuse a table file beside the three that is none of them (``links_2023.csv``,
    ``links (1).csv``, ``Residents.csv``): each table is one file named exactly, so such a file
    would otherwise be left out of the scan without a word, and with it whatever part of the
    input it holds. Other files (a note, a spreadsheet) and hidden ones are left alone."""
    names = {f"{t}{ext}" for t in TABLES for ext in (".parquet", ".csv")} | NOT_INPUT
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".") or name in names:
            continue
        if path.suffix.lower() not in (".csv", ".parquet"):
            continue
        raise InputError(
            str(path),
            None,
            "is not one of the scan's tables (residents, links, desk_events, each one file "
            "named exactly TABLE.parquet or TABLE.csv, in lower case): put all of a table's rows "
            "into its one file, or move this file out of the directory",
        )


UNIQUE_MEMORY_LIMIT = "1GB"
"""DuckDB's memory for the uniqueness check of one key column; above it its aggregate spills to
a temporary directory (removed afterwards), so 100M keys are checked in bounded memory."""

UNIQUE_HASH = "hash(key)"
"""The SQL of the 64-bit hash the uniqueness check first counts (fixed width: 100M of them
aggregate and spill far more cheaply than the keys themselves); equal hashes are only
candidates, confirmed on the real keys (a test puts a colliding hash here)."""


def _unique_columns(table: str) -> list[str]:
    return [c.name for c in TABLES[table] if c.unique]


def _keys(validated: Iterable[pa.RecordBatch], column: str) -> Iterator[pa.RecordBatch]:
    """The key column of each validated batch with each value's row of the file (0-based)."""
    offset = 0
    for batch in validated:
        n = batch.num_rows
        rows = pa.array(np.arange(offset, offset + n, dtype=np.int64))
        yield pa.RecordBatch.from_arrays([batch.column(column), rows], names=["key", "row"])
        offset += n


def _first_duplicate(
    keys: Iterable[pa.RecordBatch], again: Callable[[], Iterable[pa.RecordBatch]]
) -> tuple[str, int, int, int] | None:
    """The duplicated key whose first row comes first in the file: (value, count, first row,
    last row), or None when every key is unique. DuckDB counts each key's 64-bit hash over the
    stream (one batch held at a time; the aggregate spills to disk above
    ``UNIQUE_MEMORY_LIMIT``): no Python object per row. Only when some hash is seen twice are
    the keys read once more (``again``: the same key batches) and those with a repeated hash
    counted by their value, so two keys that merely share a hash are not a duplicate."""
    # duckdb (a large native library) only when this check runs.
    import duckdb

    schema = pa.schema([("key", STR), ("row", pa.int64())])
    spill = Path(tempfile.mkdtemp(prefix="madoguchi-scan-unique-"))
    try:
        con = duckdb.connect(
            config={
                "memory_limit": UNIQUE_MEMORY_LIMIT,
                "temp_directory": str(spill),
                "preserve_insertion_order": False,
            }
        )
        try:
            con.execute("SET enable_progress_bar = false")
            con.register("scan_keys", pa.RecordBatchReader.from_batches(schema, keys))
            con.execute(
                f"CREATE TEMP TABLE candidates AS SELECT {UNIQUE_HASH} AS h FROM scan_keys "  # noqa: S608 (constants only)
                "GROUP BY h HAVING count(*) > 1"
            )
            con.unregister("scan_keys")
            if not con.execute("SELECT h FROM candidates LIMIT 1").fetchall():
                return None
            con.register("scan_keys", pa.RecordBatchReader.from_batches(schema, again()))
            found = con.execute(
                "SELECT key, count(*) AS n, min(row) AS first, max(row) AS last "  # noqa: S608 (constants only)
                f"FROM scan_keys SEMI JOIN candidates ON {UNIQUE_HASH} = candidates.h "
                "GROUP BY key HAVING count(*) > 1 ORDER BY first LIMIT 1"
            ).fetchall()
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    if not found:
        return None
    value, count, first, last = found[0]
    return str(value), int(count), int(first), int(last)


def duplicate_error(
    path: Path | str,
    column: str,
    value: str,
    count: int,
    rows: tuple[int, int | None] | None = None,
) -> InputError:
    """``rows``: the first and last row holding ``value`` (0-based), when known (the last
    None: only the first). The value, an ID, is never shown (``too_long``): its length and
    rows are."""
    where = ""
    if rows is not None and rows[1] is not None:
        first, last = row_number(path, rows[0]), row_number(path, rows[1])
        where = f" (rows {first} and {last}{' and others' if count > 2 else ''})"
    elif rows is not None:
        where = f" (the first is row {row_number(path, rows[0])})"
    return InputError(
        str(path),
        column,
        f"a value of {len(str(value))} characters (not shown) is not unique: {count} rows "
        f"have it{where}; each {column} must appear once",
    )


def key_batches(path: Path, table: str, column: str) -> Iterator[pa.RecordBatch]:
    """One column of a table's file, read alone in the format's type, batch by batch (CSV in
    either encoding, Parquet); not validated (empty rows at the end give nulls)."""
    return _key_column(path, table, column)


def _key_column(path: Path, table: str, column: str) -> Iterator[pa.RecordBatch]:
    """The key column of a file already validated, read again alone (in the format's type)."""
    spec = next(c for c in TABLES[table] if c.name == column)
    offset = 0
    for raw in _raw_batches(path, table, only=column):
        yield pa.RecordBatch.from_arrays(
            [_convert(path, spec, raw.column(column), offset)], names=[column]
        )
        offset += raw.num_rows


def row_of(path: Path, table: str, column: str, value: str) -> int | None:
    """The row (as errors count rows: ``row_number``) of the first row of a validated file
    whose ``column`` holds ``value``, or None; read once more, the column alone (only to name
    a row in a refusal)."""
    offset = 0
    for batch in _key_column(path, table, column):
        found = pc.index(batch.column(0), pa.scalar(value, pa.string())).as_py()
        if found >= 0:
            return row_number(path, offset + found)
        offset += batch.num_rows
    return None


def _check_unique(
    path: Path,
    table: str,
    validated: Iterable[pa.RecordBatch],
    again: Callable[[], Iterable[pa.RecordBatch]] | None = None,
) -> int:
    """Consume ``validated`` (the table's validated batches), raising the first validation
    problem as it comes, then the first duplicated key; the row count. ``again``: the same
    batches (at least their key column) once more, when some keys' hashes repeat; by default
    the key column read again from ``path``."""
    columns = _unique_columns(table)
    if not columns:
        return sum(b.num_rows for b in validated)
    if len(columns) > 1:  # not in version 1: one key per table
        raise NotImplementedError(f"{table}: more than one unique column")
    column = columns[0]
    rows = 0
    failed: list[Exception] = []

    def counted() -> Iterator[pa.RecordBatch]:
        # A problem met while DuckDB pulls the stream would surface as DuckDB's own error:
        # keep it, end the stream, and raise it as it is below.
        nonlocal rows
        try:
            for batch in validated:
                rows += batch.num_rows
                yield batch
        except Exception as exc:
            failed.append(exc)

    # duckdb (a large native library) only when this check runs.
    import duckdb

    try:
        reread = again or (lambda: _key_column(path, table, column))
        found = _first_duplicate(_keys(counted(), column), lambda: _keys(reread(), column))
    except duckdb.Error as exc:
        if failed:
            raise failed[0] from exc
        cause = str(exc).strip().splitlines()[0]
        raise InputError(
            str(path),
            column,
            f"its uniqueness could not be checked ({cause}); the check may use "
            f"{UNIQUE_MEMORY_LIMIT} and spills the rest to the temporary directory "
            "(TMPDIR): give it free space",
        ) from exc
    if failed:
        raise failed[0]
    if found is not None:
        value, count, first, last = found
        raise duplicate_error(path, column, value, count, (first, last))
    return rows


def validate(directory: Path | str) -> dict[str, int]:
    """Check every table in bounded memory (one batch at a time, nothing kept; the key columns'
    uniqueness counted by DuckDB over the same pass); the row count of each. Raises
    :class:`InputError` on the first problem."""
    return {table: validate_table(path, table) for table, path in files(directory).items()}


def validate_table(path: Path, table: str) -> int:
    """Check one table's file as :func:`validate` does; its row count."""
    rows = _check_unique(path, table, batches(path, table))
    if not has_rows(table, rows):
        raise InputError(str(path), None, NO_ROWS)
    _check_quoting(path)
    return rows


def _check_quoting(path: Path) -> None:
    """Refuse a CSV with a quoted value that has text after its closing quote (``"ｲﾄｳ ﾘﾝ" ``,
    a space after it; ``"ﾀｶ"ﾊｼ ｻﾔｶ``): Arrow reads it as the quoted text with what follows
    (``ﾀｶﾊｼ ｻﾔｶ``), Spark's reader otherwise (``"ﾀｶ"ﾊｼ ｻﾔｶ`` as written, the space dropped), so
    the engines would scan different values; which was meant is not for the reader to guess.
    Read once more by Python's csv module, strictly, only when the file holds a quote at all
    (about 1 s per million rows of eleven quoted values)."""
    if path.suffix != ".csv" or not _holds_quote(path):
        return
    encoding = csv_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, strict=True)
        rows, first = 0, 1  # rows as Arrow counts them (empty lines left out), a row's line
        try:
            for row in reader:
                rows += 1 if row else 0
                first = reader.line_num + 1
        except csv.Error as exc:
            if "expected after" not in str(exc):
                return  # another limit of Python's reader (a value past 128 KiB): Arrow read it
            last = reader.line_num
        else:
            return
    with path.open(encoding=encoding, newline="") as fh:
        text = "".join(line for n, line in enumerate(fh, start=1) if first <= n <= last)
    with path.open(encoding=encoding, newline="") as fh:
        header = next(csv.reader(fh), [])
    index, value = _after_quote(text.removeprefix("\ufeff"))
    column = header[index] if 0 <= index < len(header) else None
    raise InputError(
        str(path),
        column,
        f"row {rows + 1} has a quoted value with text after its closing quote ({value!r}): "
        "a value in quotes ends at its closing quote, then a comma or the end of the row; "
        'put the whole value in the quotes (a quote inside it written twice, "") or remove '
        "what follows them; nothing was written",
    )


def _holds_quote(path: Path) -> bool:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            if b'"' in chunk:
                return True
    return False


def _after_quote(row: str) -> tuple[int, str]:
    """The field (0-based) of ``row`` (one CSV row's text) whose closing quote has text after
    it, and the field as written up to the next comma or line end; (-1, row) if none."""
    field, start, i, quoted = 0, 0, 0, False
    while i < len(row):
        c = row[i]
        if quoted:
            if c == '"' and row[i + 1 : i + 2] == '"':
                i += 1
            elif c == '"':
                quoted = False
                nxt = row[i + 1 : i + 2]
                if nxt not in ("", ",", "\r", "\n"):
                    end = min(
                        (row.find(e, i) for e in ",\r\n" if row.find(e, i) >= 0), default=len(row)
                    )
                    return field, row[start:end]
        elif c == '"' and i == start:
            quoted = True
        elif c == ",":
            field, start = field + 1, i + 1
        i += 1
    return -1, row


def readers(directory: Path | str) -> dict[str, pa.RecordBatchReader]:
    """Each table as a stream of validated batches in the format's types (for an engine to load
    without holding the Arrow tables; validate first: a problem met while an engine reads the
    stream surfaces as that engine's error)."""
    return {
        t: pa.RecordBatchReader.from_batches(arrow_schema(t), batches(p, t))
        for t, p in files(directory).items()
    }


def load(directory: Path | str) -> dict[str, pa.Table]:
    """Read and validate the three tables into memory; raise :class:`InputError` on the first
    problem."""
    tables = {}
    for t, p in files(directory).items():
        table = pa.Table.from_batches(list(batches(p, t)), schema=arrow_schema(t))
        _check_unique(p, t, table.to_batches(), table.to_batches)
        if not has_rows(t, table.num_rows):
            raise InputError(str(p), None, NO_ROWS)
        _check_quoting(p)
        tables[t] = table
    return tables


DATASET_KEY = b"madoguchi.scan.dataset"
"""The key, in ``truth.parquet``'s and a run's ``findings.parquet``'s Parquet metadata, of the
generated input they belong to (``generate.dataset_id``): ``scan evaluate`` refuses findings
of one input scored against the truth of another (two inputs generated with the same N have
the same link IDs, so the IDs alone cannot tell)."""


def dataset(directory: Path | str) -> str | None:
    """The generated input's identity, from its ``truth.parquet``'s metadata (the footer
    only); None for an input that is not generated (no truth file, or one without it)."""
    if is_uri(directory):
        return None
    path = Path(directory) / "truth.parquet"
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowInvalid):
        return None
    value = meta.get(DATASET_KEY)
    return value.decode() if value else None


class Writer:
    """Writes tables as Parquet (zstd), one row group per :meth:`write`, under temporary names;
    on success they are renamed into place and ``format.json`` is written; on failure the
    partial files are removed (and the directory, when this created it and it is empty)."""

    def __init__(self, directory: Path | str, names: list[str]) -> None:
        self.directory = Path(directory)
        self.names = names
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._created = False

    def _part(self, name: str) -> Path:
        return self.directory / f".{name}.parquet.part-{os.getpid()}"

    def __enter__(self) -> Writer:
        self._created = not self.directory.exists()
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, name: str, table: pa.Table) -> None:
        writer = self._writers.get(name)
        if writer is None:
            writer = pq.ParquetWriter(self._part(name), table.schema, compression="zstd")
            self._writers[name] = writer
        writer.write_table(table, row_group_size=max(1, table.num_rows))

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for writer in self._writers.values():
            writer.close()
        if exc_type is not None:
            for name in self._writers:
                self._part(name).unlink(missing_ok=True)
            if self._created and not any(self.directory.iterdir()):
                self.directory.rmdir()
            return
        for name in self._writers:
            os.replace(self._part(name), self.directory / f"{name}.parquet")
        (self.directory / "format.json").write_text(
            json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION}) + "\n", "utf-8"
        )


def write(directory: Path | str, tables: dict[str, pa.Table]) -> None:
    """Write the three tables as Parquet with ``format.json`` (the adapter)."""
    with Writer(directory, list(tables)) as out:
        for name, table in tables.items():
            out.write(name, table)
