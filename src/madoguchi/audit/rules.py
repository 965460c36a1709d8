"""The rules every event in the audit log obeys, in one place.

`services.record()` refuses an event that breaks them; `verify` checks every stored event
against the same rules, so that an event appended by other means (a plain INSERT by a role
that may insert into the log, which can compute the hashes itself) is named, not passed as
intact. An event's name is registered and its id is that name's; its payload is a JSON object
without a key that looks like a PIN or the individual number, and without a 12-digit string
value; its time is not earlier than the previous event's (checked by the walk itself, or on
PostgreSQL by the database on INSERT: `madoguchi.audit.timeorder`).

On PostgreSQL the same rules are SQL conditions over the row's columns, so that they cost the
verifier no pass of its own in Python: the event's (`EVENT_OK`) in the query that streams the
rows to it, and the payload's (`PAYLOAD_OK`) as a CHECK constraint the database evaluates on
INSERT (`CONSTRAINT`, migration audit.0008), whose place in the catalog the verifier checks
once (and the time's as `madoguchi.audit.timeorder` says). They are exact: the payload rules are the regular expressions below
with Python's meaning of ``\\d``, ``\\s``, ``str.strip()`` and IGNORECASE spelt out as explicit
characters (`tests/audit/test_verify_forged_appends.py` checks them against Python's own over
every code point).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import constraint, events

# The words a payload key must not hold (as a word between underscores, in any case).
_FORBIDDEN_WORDS = (
    "pin",
    "pins",
    "passcode",
    "individual_number",
    "my_?number",
    "kojin_?bango",
    "mynumber",
)
# Payload keys that must never reach the log (PINs, the individual number).
FORBIDDEN_KEY_RE = re.compile(rf"(^|_)({'|'.join(_FORBIDDEN_WORDS)})($|_)", re.IGNORECASE)
# An individual number is exactly 12 digits; no payload value may look like one.
TWELVE_DIGITS_RE = re.compile(r"^\d{12}$")


def payload_problem(value: Any, path: str = "payload") -> str | None:
    """Why `value` (a payload, or a part of one at `path`) may not be in the log, or None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has a non-string key {key!r}; JSON keys are strings."
            if FORBIDDEN_KEY_RE.search(key):
                return (
                    f"{path}.{key} is refused: PINs and individual numbers never go in the "
                    "audit log."
                )
            problem = payload_problem(item, f"{path}.{key}")
            if problem is not None:
                return problem
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = payload_problem(item, f"{path}[{i}]")
            if problem is not None:
                return problem
    elif isinstance(value, str) and TWELVE_DIGITS_RE.fullmatch(value.strip()):
        return (
            f"{path} is refused: a 12-digit value looks like an individual number, "
            "which never goes in the audit log."
        )
    return None


def event_problem(event_id: int, event_name: str) -> str | None:
    """Why (`event_id`, `event_name`) is not a registered event type, or None."""
    try:
        registered = events.get(event_name)
    except events.UnknownEventError:
        return f"its event {event_name!r} (id {event_id}) is not a registered event type"
    if registered.id != event_id:
        return f"its event id {event_id} is not {event_name}'s ({registered.id})"
    return None


def stored_problem(event_id: int, event_name: str, payload: Any) -> str | None:
    """Why a stored event breaks the rules `record()` enforces (other than its time), or None."""
    problem = event_problem(event_id, event_name)
    if problem is not None:
        return problem
    if not isinstance(payload, Mapping):
        return f"its payload is a JSON {type(payload).__name__}, not an object"
    return payload_problem(payload)


# --- The same rules in SQL (PostgreSQL) ---------------------------------------------------------

# Characters Python's IGNORECASE matches for an ASCII letter besides its two cases (U+0130 and
# U+0131 for i, KELVIN SIGN for k, LONG S for s); the test checks there are no others.
_CASE_EXTRAS = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}
# Python's `\d` (str patterns): Unicode decimal digits, 66 runs of ten from these zeros.
_DIGIT_ZEROS = (
    *(0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6),
    *(0xD66, 0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0),
    *(0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0),
    *(0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0),
    *(0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50),
    *(0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC),
    *(0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0),
)
# What `str.strip()` removes (`str.isspace()`, which is also Python's `\s`).
_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _key_regex() -> str:
    """FORBIDDEN_KEY_RE as a PostgreSQL regular expression without a case flag: each letter
    is a bracket of every character IGNORECASE matches for it, and `$` is also matched before
    a final newline (as Python's `$` is)."""

    def word(text: str) -> str:
        out = []
        for ch in text:
            if ch.isalpha():
                out.append(f"[{ch.lower()}{ch.upper()}{_CASE_EXTRAS.get(ch.lower(), '')}]")
            else:  # "_" and "?" (an optional underscore)
                out.append(ch)
        return "".join(out)

    return "(^|_)(" + "|".join(word(w) for w in _FORBIDDEN_WORDS) + ")(\n?$|_)"


def _value_regex() -> str:
    """`TWELVE_DIGITS_RE.fullmatch(value.strip())` as a PostgreSQL regular expression."""
    digits = "".join(f"{chr(z)}-{chr(z + 9)}" for z in _DIGIT_ZEROS)
    return f"^[{_SPACES}]*[{digits}]{{12}}[{_SPACES}]*$"


def _jsonpath_string(regex: str) -> str:
    """A jsonpath string literal holding `regex`: printable ASCII as it is, every other
    character as an escape (`\\u{…}`), so that the SQL holds no control or invisible
    character; the regular expression's own backslashes doubled."""
    out = []
    for ch in regex:
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 < ord(ch) < 0x7F and ch != '"':
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):X}}}")
    return '"' + "".join(out) + '"'


_KEY_PATH = 'lax $.** ? (@.type() == "object").keyvalue() ? (@.key like_regex {})'
_VALUE_PATH = 'lax $.** ? (@.type() == "string" && @ like_regex {})'
KEY_JSONPATH = _KEY_PATH.format(_jsonpath_string(_key_regex()))
VALUE_JSONPATH = _VALUE_PATH.format(_jsonpath_string(_value_regex()))

# The payload rules over the row's `payload` column, as one condition (constants only). Too
# slow for the verifier to evaluate on every row (some microseconds a row: the walk would take
# several times as long), so PostgreSQL evaluates it once, on INSERT, as a CHECK constraint.
PAYLOAD_OK = (
    "jsonb_typeof(payload) = 'object' "
    f"AND NOT jsonb_path_exists(payload, '{KEY_JSONPATH}') "
    f"AND NOT jsonb_path_exists(payload, '{VALUE_JSONPATH}')"
)
assert "%" not in PAYLOAD_OK  # used in statements with parameters as it is

# True when the row's event is registered with its id; the parameter is `event_params()`.
# (A hashed lookup in a constant array: it costs the walk nothing it can measure.)
EVENT_OK = "(event_id::text || ' ' || event_name) = ANY(%s::text[])"


def event_params() -> list[Any]:
    """`EVENT_OK`'s parameter: every registered event, as "id name"."""
    return [[f"{event.id} {event.name}" for event in events.all_events()]]


# --- The database's guarantee: the payload rules as a CHECK constraint (PostgreSQL) ------------
#
# Evaluated on every INSERT by every role (disabling the triggers or `session_replication_role
# = replica` does not lift it); getting round it takes dropping it, or re-adding it NOT VALID,
# which the catalog shows, as for the columns constraint (`madoguchi.audit.constraint`). So
# `verify` checks once that it is in place, validated and exactly this expression, and then
# checks only each row's event and time; otherwise it checks the payload rules row by row.

CONSTRAINT = "audit_payload_rules"
TABLE = "audit_auditevent"


def add_sql() -> str:
    """Add the constraint without checking existing rows (a brief lock); then `validate_sql`."""
    return f"ALTER TABLE {TABLE} ADD CONSTRAINT {CONSTRAINT} CHECK ({PAYLOAD_OK}) NOT VALID"


def validate_sql() -> str:
    """Check every existing row (appends go on meanwhile); fails if any row breaks a rule."""
    return f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {CONSTRAINT}"


def drop_sql() -> str:
    return f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {CONSTRAINT}"


def _printed(path: str, regex: str) -> str:
    """A jsonpath as PostgreSQL prints it back: no "lax" (the default), no spaces around "?",
    the key as "key", and the regular expression as a JSON string."""
    head = path.removeprefix("lax ").replace(" ? ", "?").replace("@.key", '@."key"')
    return head.format(json.dumps(regex, ensure_ascii=False))


# How PostgreSQL 15 prints the constraint back (pg_get_constraintdef), exactly. If a server
# prints it otherwise, verify checks the payloads row by row: slower, never less strict.
EXPECTED_DEFINITIONS = (
    "CHECK (((jsonb_typeof(payload) = 'object'::text) AND (NOT jsonb_path_exists(payload, "
    f"'{_printed(_KEY_PATH, _key_regex())}'::jsonpath)) AND (NOT jsonb_path_exists(payload, "
    f"'{_printed(_VALUE_PATH, _value_regex())}'::jsonpath))))",
)

# The constraint's catalog row, joined in the verifier's first statement; `r` is null when the
# constraint is missing.
CATALOG_JOIN = (
    f"LEFT JOIN pg_constraint r ON r.conrelid = '{TABLE}'::regclass AND r.conname = "
    f"'{CONSTRAINT}' AND r.contype = 'c'"
)
CATALOG_COLUMNS = "r.convalidated, pg_get_constraintdef(r.oid)"


def judge(validated: bool | None, definition: str | None) -> tuple[bool, str]:
    """Whether the constraint holds for every row, from its catalog columns (`CATALOG_COLUMNS`):
    (True, "") or (False, why not)."""
    # Compared exactly: the regular expressions hold white space of their own, and a bracket
    # of fewer spaces must not pass for this one.
    return constraint.judge_catalog(
        CONSTRAINT, validated, definition, lambda d: d in EXPECTED_DEFINITIONS
    )
