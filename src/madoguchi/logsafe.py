"""What a log line may not carry: a long number, or the values a request's address holds.

The data rules keep the individual number (12 digits) out of everything stored, logged or
shown. A log line is built from what clients send: a request's path and query string (an
official's filters, the reason asked before residents' data is shown, which is free text), its
Referer and User-Agent, an exception's text. Every log madoguchi writes passes through this
module (docs/security.md, round 8):

- `scrub` replaces every run of twelve digits or more (full-width too, grouped with spaces or
  dashes, with invisible characters between: `LONG_NUMBER` on `as_read`, the rule
  `madoguchi.plaintext.long_number` applies to free text) with `[number]`;
- `safe_url` writes an address's path scrubbed and its query string with each value masked
  (`?reason=*&day=*`): names stay, what was typed does not;
- `Scrubbed` is the logging filter that scrubs a record's message, traceback and stack, on the
  handlers of the server (settings.LOGGING, gunicorn's error log), the card agent and the
  outside simulators (`install`).

This module is a pure library: the card agent and the simulators use it without Django.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "LONG_NUMBER",
    "Scrubbed",
    "as_read",
    "install",
    "safe_header",
    "safe_url",
    "scrub",
    "shows_nothing",
]

# Twelve digits or more, each perhaps after spaces or hyphens (up to three together, "1234 -
# 5678"): an individual number (12), a payment service ID (16) or a bank, branch and account
# number written together (14). A telephone number (10 or 11) is shorter. Matched on text as a
# reader reads it (`as_read`: full-width and other scripts' digits are digits).
LONG_NUMBER = re.compile(r"\d(?:[\s\-‐－ー−]{0,3}\d){11,}", re.ASCII)
# The same on text as written: any decimal digit, any space (an ideographic one too).
_WRITTEN = re.compile(r"\d(?:[\s\-‐－ー−]{0,3}\d){11,}")

# Dashes read as a hyphen between a number's digits: every Unicode dash but the wave dashes
# (「10〜20」 is a range), the minus sign and the katakana prolonged sound mark (typed for a
# hyphen in Japanese).
_NOT_HYPHENS = frozenset("\u301c\u3030")
_HYPHENS = frozenset("\u2212\u30fc")


# Unicode's Default_Ignorable_Code_Point: what a renderer shows as nothing when it has no
# glyph for it (zero-width spaces and joiners, U+FEFF, bidirectional controls, variation
# selectors, tags, the Hangul fillers U+115F U+1160 U+3164 U+FFA0). Python's `unicodedata`
# has the general category but not this derived property, so here are its ranges as
# DerivedCoreProperties.txt lists them (Unicode 14.0, the version of Python 3.11's
# `unicodedata`; the same in 15.0 and 15.1). It is the property's definition: every Cf but the
# ones that show (the prepended concatenation marks U+0600..U+0605 U+06DD U+070F U+0890
# U+0891 U+08E2 U+110BD U+110CD, U+FFF9..U+FFFB, the Egyptian hieroglyph format controls),
# the variation selectors and Other_Default_Ignorable_Code_Point
# (tests/test_shows_nothing.py compares it with fontTools' copy, code point by code point).
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),  # SOFT HYPHEN
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x061C, 0x061C),  # ARABIC LETTER MARK
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ, AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x200B, 0x200F),  # ZERO WIDTH SPACE .. RIGHT-TO-LEFT MARK
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # WORD JOINER .. NOMINAL DIGIT SHAPES (bidirectional isolates among them)
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTOR-1 .. 16
    (0xFEFF, 0xFEFF),  # ZERO WIDTH NO-BREAK SPACE
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT controls
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN BEAM .. END PHRASE
    (0xE0000, 0xE0FFF),  # tags, VARIATION SELECTOR-17 .. 256, reserved
)

# Characters outside the property that show nothing in the fonts desks and officials have: the
# blank Braille pattern (a space-wide empty cell) and the musical null notehead. Both are
# typed or pasted for a "blank" that a required field takes.
BLANK_LOOKING = frozenset("\u2800\U0001d159")


def default_ignorable(char: str) -> bool:
    """Whether `char` has Unicode's Default_Ignorable_Code_Point property."""
    code = ord(char)
    return any(low <= code <= high for low, high in DEFAULT_IGNORABLE)


def shows_nothing(char: str) -> bool:
    """Whether a character shows nothing on a page, a receipt or a report: a default-ignorable
    one (`DEFAULT_IGNORABLE`), a combining mark (nothing of its own: it marks the character
    before it, and alone it marks nothing) or a blank-looking one (`BLANK_LOOKING`). White
    space is not here: it shows as space (between a number's digits, `LONG_NUMBER` reads it)."""
    return (
        unicodedata.category(char) in ("Mn", "Me")
        or char in BLANK_LOOKING
        or default_ignorable(char)
    )


# Digits written in kanji one character a digit, as a number is read out or written
# vertically (一二三四 五六七八 九〇一二): read as digits, but only among themselves (`as_read`
# with ``kanji``). Not 十 百 千 万, which make a quantity (千二百三十四), not the formal 壱 弐 参 of
# amounts, and not ○ (U+25CB), which masks digits (○○○○ ○○○○ ○○○○ stands for a number not
# written).
_KANJI_DIGITS = {
    "〇": "0",
    "零": "0",
    "一": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
# What a digit of another kind is in the kanji reading: not a digit, not a separator.
_OTHER_DIGIT = "#"


def _read_char(char: str, kanji: bool) -> str:
    category = unicodedata.category(char)
    # Shows nothing: a zero-width space, a soft hyphen, marks, a Hangul filler, blank Braille
    # (and every other format character, which a reader does not read as one of the digits).
    if category == "Cf" or shows_nothing(char):
        return ""
    if category == "Nd":
        return _OTHER_DIGIT if kanji else str(unicodedata.decimal(char))
    if kanji and char in _KANJI_DIGITS:
        return _KANJI_DIGITS[char]
    if (category == "Pd" and char not in _NOT_HYPHENS) or char in _HYPHENS:
        return "-"
    return char


@functools.lru_cache(maxsize=4096)
def _char_read(char: str) -> tuple[str, str]:
    """A character as read (NFKC, then `_read_char`): digits as digits, and kanji digits as
    digits."""
    normal = unicodedata.normalize("NFKC", char)
    return (
        "".join(_read_char(part, kanji=False) for part in normal),
        "".join(_read_char(part, kanji=True) for part in normal),
    )


def _reading(text: str, kanji: bool) -> tuple[str, list[int]]:
    """`as_read(text, kanji)` and, for each of its characters, the position in `text` of the
    character it was read from (NFKC a character at a time, so a position maps back)."""
    way = 1 if kanji else 0
    pieces = [char if char.isascii() and not kanji else _char_read(char)[way] for char in text]
    sources = [index for index, piece in enumerate(pieces) for _ in piece]
    return "".join(pieces), sources


def as_read(text: str, kanji: bool = False) -> str:
    """`text` as a reader reads the numbers in it: NFKC (full-width and circled digits are
    digits), every decimal digit of any script an ASCII one, every dash a hyphen, and what
    shows nothing between digits (a zero-width space, a soft hyphen, a word joiner, combining
    marks, a Hangul filler, blank Braille: `shows_nothing`) left out. A number written so only
    the rule would not see it is still one.

    With ``kanji``, the kanji digits (一二三 … 〇) are the digits instead, and every other digit
    is not one: a run of kanji digits is a number of its own, never joined to the digits
    written beside it (「090-1234-5678 一度」 is a telephone number and a word, not twelve
    digits). A text is read both ways (`LONG_NUMBER` on each)."""
    if text.isascii() and not kanji:
        return text
    return _reading(text, kanji)[0]


def _masked_as_read(text: str, kanji: bool) -> str:
    """`text` with the characters of each long number in its reading replaced by `MASK`, the
    rest as written."""
    read, sources = _reading(text, kanji)
    spans: list[list[int]] = []
    for match in LONG_NUMBER.finditer(read):
        start, end = sources[match.start()], sources[match.end() - 1] + 1
        if spans and start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(MASK)
        last = end
    parts.append(text[last:])
    return "".join(parts)


MASK = "[number]"
# What stands for a query value in a log line.
VALUE_MASK = "*"
# What an address keeps unencoded when written back (the mask's brackets included).
_SAFE = "/:@!$&'()*,;=-._~[]"


def scrub(text: str) -> str:
    """`text` with every long number replaced by `[number]`."""
    if text.isascii():
        text = LONG_NUMBER.sub(MASK, text)
        return _escaped(text) if "\\" in text else text
    text = _WRITTEN.sub(MASK, text)
    # Digits only a reader sees as one number (circled, with a zero-width space between, in
    # kanji): their own characters masked, the rest of the line as written.
    text = _masked_as_read(text, kanji=False)
    return _masked_as_read(text, kanji=True)


# The escapes a logged line may write a character as (Django's `unicode_escape` of a path).
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|x([0-9a-fA-F]{2}))")


def _character(match: re.Match[str]) -> str:
    code = int(match[1] or match[2] or match[3], 16)
    return chr(code) if code <= 0x10FFFF else match[0]


def _escaped(text: str) -> str:
    """ASCII text that may carry escapes (Django escapes a logged path's characters, `\\uff11`
    for a full-width 1): scrubbed as read, the other characters escaped again."""
    read = _ESCAPE.sub(_character, text)
    if read == text:
        return text
    clean = scrub(read)
    return text if clean == read else clean.encode("ascii", "backslashreplace").decode("ascii")


def _recoded(text: str) -> str:
    """A header value as written: WSGI servers decode header bytes as Latin-1, so UTF-8 text
    (full-width digits) arrives as other characters; read back as UTF-8 when it is."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def safe_header(value: str) -> str:
    """A request header's value (User-Agent, say) for a log line: scrubbed."""
    if value.isascii():
        return scrub(value)
    return scrub(_recoded(value))


def _safe_part(raw: str, plus_is_space: bool = False) -> str:
    """A percent-encoded part of an address, scrubbed as read and written back encoded."""
    if raw.isascii() and "%" not in raw and not (plus_is_space and "+" in raw):
        return raw if LONG_NUMBER.search(raw) is None else LONG_NUMBER.sub(MASK, raw)
    text = unquote(raw.replace("+", " ") if plus_is_space else raw, errors="replace")
    clean = scrub(text)
    return raw if clean == text else quote(clean, safe=_SAFE)


def _safe_query(query: str) -> str:
    names = []
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        name = _safe_part(name, plus_is_space=True)
        names.append(f"{name}={VALUE_MASK if value else ''}" if sep else name)
    return "&".join(names)


def safe_url(url: str) -> str:
    """An address (a request's path and query, or a whole Referer) for a log line: the path
    scrubbed of long numbers, each query value masked, any fragment dropped."""
    if url in ("", "-"):
        return url
    if url.isascii() and "?" not in url and "%" not in url:  # the common line: no values
        return scrub(url.partition("#")[0])
    if not url.isascii():
        url = _recoded(url)
    if url.startswith("/") and not url.startswith("//"):
        path, sep, query = url.partition("?")
        path = path.partition("#")[0]
        return _safe_part(path) + (sep + _safe_query(query.partition("#")[0]) if sep else "")
    parts = urlsplit(url)
    head = f"{parts.scheme}://{scrub(parts.netloc)}" if parts.scheme or parts.netloc else ""
    query = f"?{_safe_query(parts.query)}" if parts.query else ""
    return head + _safe_part(parts.path) + query


class Scrubbed(logging.Filter):
    """A handler's filter: the record's message, traceback and stack without long numbers."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format is the formatter's to report
            return True
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """`Scrubbed` on every handler of `logger` (the root logger by default) not yet holding one."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, Scrubbed) for f in handler.filters):
            handler.addFilter(Scrubbed())
