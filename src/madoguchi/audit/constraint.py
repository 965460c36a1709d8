"""The database guarantee that an event's columns are the document in its stored canonical bytes.

PostgreSQL only. A CHECK constraint on ``audit_auditevent`` refuses any row whose columns (seq,
time, event, actor, terminal, subject, payload) are not, as JSON values, the document in its
``canonical`` bytes (rows without stored bytes, appended before they were kept, are exempt). A
CHECK constraint is evaluated on every INSERT and UPDATE by every role: disabling the triggers
or ``session_replication_role = replica`` does not lift it. Getting round it takes dropping it
(or re-adding it ``NOT VALID``), which the catalog shows; re-adding it validated checks every
row again.

So ``audit verify`` checks, once, that the constraint is in place, validated and exactly this
expression (:func:`in_place`); if so every row's columns agree with its stored bytes, and only
the hashes of those bytes are left to check. Otherwise it compares the columns with the bytes
row by row, as before (docs/adr/1503-audit-columns-checked-by-the-database.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

NAME = "audit_columns_match_canonical"
TABLE = "audit_auditevent"

# Time as the canonical form writes it: UTC, microseconds, "Z".
AS_UTC = "to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _pair_sql(k1: str, c1: str, k2: str, c2: str) -> str:
    # null only when both columns are empty (canonical.py's rule).
    return (
        f"CASE WHEN {c1} <> '' OR {c2} <> '' THEN jsonb_build_object('{k1}', {c1}, '{k2}', {c2})"
        " ELSE 'null'::jsonb END"
    )


# The document of the row's columns, as jsonb (compared by value: strings exactly, numbers as
# numbers, object keys in any order, which is what RFC 8785 canonical form is a function of).
COLUMNS_DOCUMENT = f"""jsonb_build_object(
        'seq', seq,
        'time', {AS_UTC},
        'event', jsonb_build_object('id', event_id, 'name', event_name),
        'actor', {_pair_sql("id", "actor_id", "label", "actor_label")},
        'terminal', {_pair_sql("id", "terminal_id", "label", "terminal_label")},
        'subject', {_pair_sql("type", "subject_type", "id", "subject_id")},
        'payload', payload)"""

STORED_DOCUMENT = "convert_from(canonical, 'UTF8')::jsonb"

CHECK = f"canonical IS NULL OR ({STORED_DOCUMENT} = {COLUMNS_DOCUMENT}) IS TRUE"

# How PostgreSQL prints the constraint back (pg_get_constraintdef), whitespace collapsed. If a
# server prints it otherwise, verify takes the row-by-row path: slower, never less strict.
EXPECTED_DEFINITIONS = (
    (
        "CHECK (((canonical IS NULL) OR (((convert_from(canonical, 'UTF8'::name))::jsonb = "
        "jsonb_build_object('seq', seq, 'time', to_char((\"time\" AT TIME ZONE 'UTC'::text), "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'::text), 'event', jsonb_build_object('id', event_id, "
        "'name', event_name), 'actor', CASE WHEN (((actor_id)::text <> ''::text) OR "
        "((actor_label)::text <> ''::text)) THEN jsonb_build_object('id', actor_id, 'label', "
        "actor_label) ELSE 'null'::jsonb END, 'terminal', CASE WHEN (((terminal_id)::text <> "
        "''::text) OR ((terminal_label)::text <> ''::text)) THEN jsonb_build_object('id', "
        "terminal_id, 'label', terminal_label) ELSE 'null'::jsonb END, 'subject', CASE WHEN "
        "(((subject_type)::text <> ''::text) OR ((subject_id)::text <> ''::text)) THEN "
        "jsonb_build_object('type', subject_type, 'id', subject_id) ELSE 'null'::jsonb END, "
        "'payload', payload)) IS TRUE)))"
    ),
)


def add_sql() -> str:
    """Add the constraint without checking existing rows (a brief lock); then `validate_sql`."""
    return f"ALTER TABLE {TABLE} ADD CONSTRAINT {NAME} CHECK ({CHECK}) NOT VALID"


def validate_sql() -> str:
    """Check every existing row (appends go on meanwhile); fails if any row disagrees."""
    return f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {NAME}"


def drop_sql() -> str:
    return f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {NAME}"


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# The constraint's catalog row, joined to whatever the caller reads in the same statement (verify
# reads the log's bounds with it: one round trip); `c` is null when the constraint is missing.
CATALOG_JOIN = (
    f"LEFT JOIN pg_constraint c ON c.conrelid = '{TABLE}'::regclass AND c.conname = '{NAME}' "
    "AND c.contype = 'c'"
)
CATALOG_COLUMNS = "c.convalidated, pg_get_constraintdef(c.oid)"


def judge_catalog(
    name: str, validated: bool | None, definition: str | None, expected: Callable[[str], bool]
) -> tuple[bool, str]:
    """Whether the CHECK constraint `name` holds for every row, from its catalog row's
    `convalidated` and `pg_get_constraintdef` (null when it is missing): (True, "") or (False,
    why not). `expected` tells the expression the verifier trusts."""
    if validated is None or definition is None:
        return False, f"the constraint {name} is missing"
    if not validated:
        return False, f"the constraint {name} is not validated (added NOT VALID)"
    if not expected(definition):
        return False, f"the constraint {name} is not the expected expression"
    return True, ""


def judge(validated: bool | None, definition: str | None) -> tuple[bool, str]:
    """`in_place` from the catalog columns (`CATALOG_COLUMNS`) of the constraint's row."""
    wanted = {_collapse(d) for d in EXPECTED_DEFINITIONS}
    return judge_catalog(NAME, validated, definition, lambda d: _collapse(d) in wanted)


def in_place(cursor: Any) -> tuple[bool, str]:
    """Whether the guarantee holds now: (True, "") or (False, why not), read from the catalog."""
    cursor.execute(f"SELECT {CATALOG_COLUMNS} FROM (SELECT 1) AS one {CATALOG_JOIN}")  # noqa: S608 (constants only)
    return judge(*cursor.fetchone())
