"""Text the system accepts from outside: no lone surrogates, control or bidirectional characters.

A lone surrogate is not UTF-8 and a NUL cannot be stored by PostgreSQL (text or JSON), so a
request carrying either was a server error wherever the text reached the database; other
control characters and bidirectional controls shown on a page, PIN pad or receipt can hide or
reorder what is there. Tabs and line breaks are ordinary in free text. `desk.text` applies
the rule to procedure fields (with field errors); `PlainText` applies it to an API schema's
string field (a 422 naming the field).

Free text a person types and others read is also not empty in disguise: `blank` is the one
check of a text that shows nothing (white space, a zero-width space, a Hangul filler), which
`TextField` (`free_text`) takes for an empty one and the services test before they record.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from madoguchi.logsafe import as_read, shows_nothing

_ALLOWED_CONTROLS = frozenset("\t\n\r")


# Bidirectional marks, embeddings, overrides and isolates: they reorder what is shown (an
# account number on the PIN pad or a receipt can read as another), and no field needs them.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def bad_character(text: str) -> str | None:
    """A description of the first character text may not carry (a lone surrogate or a control
    character before a bidirectional control), or None when it is clean."""
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cs":
            return f"a lone surrogate U+{ord(char):04X} at position {index}"
        if category == "Cc" and char not in _ALLOWED_CONTROLS:
            nul = " (NUL)" if char == "\x00" else ""
            return f"the control character U+{ord(char):04X}{nul} at position {index}"
    for index, char in enumerate(text):
        if char in _BIDI_CONTROLS:
            return f"the bidirectional control U+{ord(char):04X} at position {index}"
    return None


def blank(text: str) -> bool:
    """Whether `text` shows nothing: empty, white space, or only characters that show nothing
    (`logsafe.shows_nothing`: a zero-width space, a word joiner, U+FEFF, a combining mark with
    nothing to mark, a Hangul filler, blank Braille). The one check of every text a person
    types that is recorded or shown (a case's intake and steps, a complaint, a report's note,
    the resident's comment, a legacy link, a name): such a text is empty, refused where one is
    required and kept as nothing where it is not. A text with one character that shows is
    words (「調査\u200b開始」, "e\u0301")."""
    return all(char.isspace() or shows_nothing(char) for char in text)


# Twelve digits or more, each perhaps after up to three spaces or hyphens (`madoguchi.logsafe`,
# which keeps them out of the logs too) or, in free text, the marks a Japanese writer puts
# between a number's groups: 、 ， . ・ / (「1234、5678、9012」 passed the rule and reached the
# case, the incident and the city's report). As read (`as_read`): full-width ，．／ are , . /.
_LONG_NUMBER = re.compile(r"\d(?:[\s\-‐－ー−,、.・/]{0,3}\d){11,}", re.ASCII)

# A date as case notes write it: a year of four digits, a month and a day of two, between
# hyphens (any dash, as read) slashes or dots, the same twice, and no digit glued on either side.
_DATE = re.compile(r"(?<!\d)(\d{4})([-/.])(\d{2})\2(\d{2})(?!\d)", re.ASCII)
_DATE_YEARS = range(1900, 2101)


def _date_digits(read: str) -> set[int]:
    """The positions in `read` of the digits of its real dates (1900-01-01 to 2100-12-31)."""
    covered: set[int] = set()
    for match in _DATE.finditer(read):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
        if year not in _DATE_YEARS:
            continue
        try:
            datetime.date(year, month, day)
        except ValueError:
            continue
        covered.update(range(match.start(), match.end()))
    return covered


def _only_dates(match: re.Match[str], dates: set[int]) -> bool:
    """Whether every digit of a long number's match is a digit of a real date: two dates or
    more written as a range or a list (`2026-12-01 - 2026-12-02`, one a line)."""
    return all(
        index in dates
        for index in range(match.start(), match.end())
        if match.string[index].isdigit()
    )


def long_number(text: str) -> bool:
    """Whether free text carries a number an individual's records are keyed by (full-width
    digits read as digits, invisible characters between them left out: `logsafe.as_read`),
    which the data rules keep out of what is stored and shown.

    A run of digits that is only real dates, each written whole (`YYYY-MM-DD` or
    `YYYY/MM/DD`, a year 1900–2100, a month and a day that exist) and separated by spaces or
    a dash, is a date range, not a number: eight digits a date, so no twelve-digit number is
    written so, and a single digit outside a date (`1234-2026-12-01`) makes the run a
    number again.

    Digits written in kanji a digit (一二三四 五六七八 九〇一二) are a number of their own
    (`as_read` with ``kanji``): never joined to the digits beside them, so a telephone number
    before a word that starts with 一 or 二 (「090-1234-5678 一度」, 「…5678、一人で」) is a
    telephone number and a word."""
    readings = [as_read(text)]
    if not text.isascii():
        readings.append(as_read(text, kanji=True))
    for read in readings:
        dates: set[int] | None = None
        for match in _LONG_NUMBER.finditer(read):
            if dates is None:
                dates = _date_digits(read)
            if not _only_dates(match, dates):
                return True
    return False


# What an official reads when their own free text (a case's summary or note, a complaint, a
# report's measures or note, a legacy link's records) carries such a number: the resident's
# comment is refused by the same rule, in the same words up to who asks for the number.
LONG_NUMBER_MESSAGE = _(
    "The text contains a long number (an individual number, an account number or a payment "
    "service ID). Do not write numbers here: records and reports shown to others may not "
    "carry them. Nothing was saved; write it again without the number."
)


def no_long_number(value: str) -> None:
    """A form field's validator: `long_number` refused with `LONG_NUMBER_MESSAGE`."""
    if long_number(value):
        raise ValidationError(LONG_NUMBER_MESSAGE, code="long_number")


PLAIN_TEXT_MESSAGE = _(
    "The text contains a character that cannot be used: a bidirectional control (which "
    "shows the text in another order than it was typed, a number's digits reversed) or "
    "another control character. Nothing was saved; write it again without it."
)


def plain_text(value: str) -> None:
    """A form field's validator for free text others read (a case's intake and notes, a
    report, a complaint): `bad_character` refused with `PLAIN_TEXT_MESSAGE`; tabs and line
    breaks are ordinary."""
    if bad_character(value):
        raise ValidationError(PLAIN_TEXT_MESSAGE, code="not_plain")


class TextField(forms.CharField):
    """Free text a person types, recorded or shown. A text of only characters that show
    nothing (`blank`) is empty, refused where the field is required as an empty one is
    (「このフィールドは必須です。」), kept as nothing where it is not. A NUL is refused by
    `plain_text` alone: the check Django adds to every text field said 「何か文字を入力して
    ください。」 after it (Django's Japanese for "Null characters are not allowed."), which is not
    why."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]

    def to_python(self, value: Any) -> str:
        text = str(super().to_python(value) or "")
        return "" if blank(text) else text


def free_text(label: Any, max_length: int | None = None, rows: int = 0, **kwargs: Any) -> Any:
    """A form's field of free text a person types, stored and shown (cases, reports,
    complaints): no long number in it (`long_number`, the rule the resident's comment
    follows), no bidirectional or other control character (`plain_text`), and not only
    characters that show nothing (`TextField`). ``rows``: a text area of that many rows."""
    widget = forms.Textarea(attrs={"rows": rows}) if rows else None
    return TextField(
        label=label,
        max_length=max_length,
        widget=widget,
        validators=[plain_text, no_long_number],
        **kwargs,
    )


def _plain(value: str) -> str:
    reason = bad_character(value)
    if reason:
        # Its own error type, which the API's refusal says in Japanese too (madoguchi.api).
        raise PydanticCustomError("not_plain", "contains {reason}", {"reason": reason})
    return value


PlainText = Annotated[str, AfterValidator(_plain)]

# A card certificate's SHA-256 fingerprint as the card agent reports it: 64 hexadecimal
# digits, or 32 pairs separated by colons. Anything else is not a fingerprint: stored or
# audited as sent, a client's text (12 digits, say, which the audit log refuses outright as an
# individual number) would reach the records, or fail the request.
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{64}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}")


def _fingerprint(value: str) -> str:
    if value and not _FINGERPRINT.fullmatch(value):
        raise PydanticCustomError(
            "not_fingerprint", "is not a certificate fingerprint (64 hexadecimal digits)"
        )
    return value


Fingerprint = Annotated[str, AfterValidator(_plain), AfterValidator(_fingerprint)]


def fingerprint_hex(value: str) -> str | None:
    """A fingerprint as typed or printed (`openssl x509 -fingerprint -sha256` gives capitals
    with colons) as stored: 64 lower-case hexadecimal digits; None when it is not one."""
    value = value.strip()
    if not _FINGERPRINT.fullmatch(value):
        return None
    return value.replace(":", "").lower()


# The card agent's request id (URL-safe base64 of 128 random bits): letters, digits, "-" and
# "_", and no long number, which a record keeping the id would keep as sent.
_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]*")


def _request_id(value: str) -> str:
    if not _REQUEST_ID.fullmatch(value) or long_number(value):
        raise ValueError("is not a request id (letters, digits, '-' and '_', no long number)")
    return value


RequestId = Annotated[str, AfterValidator(_plain), AfterValidator(_request_id)]


# A spreadsheet cell whose text starts with one of these is a formula (openpyxl even stores a
# string starting with "=" as one; a CSV cell is read as one when the file is opened): a name,
# a note or a sentence written by someone else must not run when an official opens the file
# (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """`value` for a spreadsheet or CSV cell: text a spreadsheet would read as a formula gets a
    leading apostrophe (shown, so the reader sees the text was not a formula); anything else
    as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def one_plain_line(value: str) -> bool:
    """Whether text is one line with no control character (tab and line breaks included),
    lone surrogate or bidirectional control."""
    return not any(c in value for c in "\t\n\r") and bad_character(value) is None


SHOWS_NOTHING_MESSAGE = _(
    "This shows nothing: it is only spaces or characters that show nothing (a zero-width "
    "space, a Hangul filler, blank Braille). Type what is to be shown."
)


def _shows_something(value: str) -> None:
    """A model field's text that is not empty but shows nothing (`blank`), refused: a model's
    own check of a required field takes only an empty one for empty."""
    if value and blank(value):
        raise ValidationError(SHOWS_NOTHING_MESSAGE, code="shows_nothing")


def plain_name(value: str) -> None:
    """A name shown on every page, report and receipt that names it: one line of plain text.
    A line break or tab broke the commands' one-line-a-record lists, and a bidirectional
    control (U+202E …) shows the name's letters in another order, as another name. No long
    number either (`no_long_number`, as every other text typed is kept): an organisation, a
    staff member's display name or a desk named with 12 digits was stored and printed on
    every receipt and report naming it. Nor only characters that show nothing (`blank`): a
    desk or a display name of a Hangul filler was printed as a name of nothing."""
    if not one_plain_line(value):
        raise ValidationError(
            _(
                "A name is one line of plain text: it may not hold a line break, a tab, another "
                "control character or a bidirectional control (which shows it as another name)."
            ),
            code="name_not_plain",
        )
    _shows_something(value)
    no_long_number(value)


def plain_line(value: str) -> None:
    """A line printed where readers act on it (the city's contact block: a department, a
    telephone number): one line of plain text, as `plain_name`. U+202E before a telephone
    number prints its digits in reverse order, another number to call. Nor only characters
    that show nothing (`blank`)."""
    if not one_plain_line(value):
        raise ValidationError(
            _(
                "This is one line of plain text: it may not hold a line break, a tab, another "
                "control character or a bidirectional control (which shows other text than "
                "was typed, a telephone number's digits reversed)."
            ),
            code="line_not_plain",
        )
    _shows_something(value)
