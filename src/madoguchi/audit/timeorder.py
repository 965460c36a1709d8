"""The database guarantee that no event's time is earlier than the previous event's (PostgreSQL).

Each event keeps the previous event's seq and time (``previous_seq``, ``previous_time``, filled by
the append function, migration audit.0009). Two constraints, evaluated on every INSERT by every
role, make a row whose time goes back impossible:

- a CHECK (:data:`CHECK_NAME`): ``previous_seq = seq - 1 AND time >= previous_time``, or both
  null for an event at or below a fixed seq (the log's size when the migration ran: those events
  were appended before the columns existed, and the log is never updated to fill them in);
- a foreign key (:data:`FOREIGN_KEY_NAME`) from (``previous_seq``, ``previous_time``) to a unique
  index on (``seq``, ``time``), MATCH FULL: the row before must exist and have that time.

So every event above that seq has an event at seq - 1 whose time is not later than its own (and
the log has no gap there). A role with INSERT alone cannot get round them; dropping either, or
re-adding it NOT VALID, or disabling the foreign key's triggers (superuser only), shows in the
catalog, which ``audit verify`` reads once (:func:`judge`), as it reads the columns constraint
(`madoguchi.audit.constraint`) and the payload rules' (`madoguchi.audit.rules`). While they hold
it tests the times of the older events only (the window function ``lag()`` over them, which
about doubled PostgreSQL's part of a walk); otherwise every row's
(docs/adr/1507-audit-time-order-kept-at-append.md).

A superuser's ``session_replication_role = replica`` switches a foreign key's checks off without a
trace in the catalog; a superuser can also rewrite the catalog itself, so the verifier's trust in
any constraint (these, audit.0005's and audit.0008's) stops short of one.
"""

from __future__ import annotations

import re

from .constraint import judge_catalog

TABLE = "audit_auditevent"
CHECK_NAME = "audit_time_after_previous"
FOREIGN_KEY_NAME = "audit_previous_event"
INDEX_NAME = "audit_seq_time_uniq"


def check_expression(older_up_to: int) -> str:
    """The CHECK's expression: `older_up_to` is the last seq that may have no previous event
    recorded (at least 1: the first event has none). ``IS TRUE``: a null (a previous seq without
    a previous time) is refused, not let through as CHECK lets a null through."""
    return (
        f"((previous_seq IS NULL AND previous_time IS NULL AND seq <= {int(older_up_to):d}) "
        "OR (previous_seq = seq - 1 AND time >= previous_time)) IS TRUE"
    )


def index_sql() -> str:
    """The unique index the foreign key refers to (a brief SHARE lock while it is built)."""
    return f"CREATE UNIQUE INDEX IF NOT EXISTS {INDEX_NAME} ON {TABLE} (seq, time)"


def add_sql(older_up_to: int) -> list[str]:
    """Add both constraints without checking existing rows; then `validate_sql`."""
    return [
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {CHECK_NAME} "
        f"CHECK ({check_expression(older_up_to)}) NOT VALID",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT {FOREIGN_KEY_NAME} FOREIGN KEY (previous_seq, "
        f"previous_time) REFERENCES {TABLE} (seq, time) MATCH FULL NOT VALID",
    ]


def validate_sql() -> list[str]:
    """Check every existing row (appends go on meanwhile), each constraint in its own statement."""
    return [
        f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {CHECK_NAME}",
        f"ALTER TABLE {TABLE} VALIDATE CONSTRAINT {FOREIGN_KEY_NAME}",
    ]


def drop_sql() -> list[str]:
    return [
        f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {FOREIGN_KEY_NAME}",
        f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {CHECK_NAME}",
        f"DROP INDEX IF EXISTS {INDEX_NAME}",
    ]


# How PostgreSQL 15 prints them back (pg_get_constraintdef); the seq is a bare number up to
# 2**31 - 1 and a bigint literal above. Any other text: not trusted (a slower walk, never a
# less strict one).
_CHECK_PRINTED = re.compile(
    r"CHECK \(\(\(\(\(previous_seq IS NULL\) AND \(previous_time IS NULL\) AND "
    r"\(seq <= (?:([1-9][0-9]*)|'([1-9][0-9]*)'::bigint)\)\) OR \(\(previous_seq = \(seq - 1\)\) "
    r"AND \(\"time\" >= previous_time\)\)\) IS TRUE\)\)"
)
EXPECTED_FOREIGN_KEY = (
    f'FOREIGN KEY (previous_seq, previous_time) REFERENCES {TABLE}(seq, "time") MATCH FULL'
)

# Both constraints' catalog rows, and whether every trigger that checks the foreign key is
# enabled ('O' or 'A': a disabled 'D' or replica-only 'R' one checks nothing), joined in the
# verifier's first statement; `o` and `p` are null when missing.
CATALOG_JOIN = (
    f"LEFT JOIN pg_constraint o ON o.conrelid = '{TABLE}'::regclass AND o.conname = "
    f"'{CHECK_NAME}' AND o.contype = 'c' "
    f"LEFT JOIN pg_constraint p ON p.conrelid = '{TABLE}'::regclass AND p.conname = "
    f"'{FOREIGN_KEY_NAME}' AND p.contype = 'f'"
)
CATALOG_COLUMNS = (
    "o.convalidated, pg_get_constraintdef(o.oid), p.convalidated, pg_get_constraintdef(p.oid), "
    "(SELECT bool_and(t.tgenabled IN ('O', 'A')) FROM pg_trigger t WHERE t.tgconstraint = p.oid)"
)


def judge(
    check_validated: bool | None,
    check_definition: str | None,
    key_validated: bool | None,
    key_definition: str | None,
    key_triggers_enabled: bool | None,
) -> tuple[int | None, str]:
    """From the catalog columns (`CATALOG_COLUMNS`): (the last seq whose time the database does
    not vouch for, "") when both constraints are in place, validated and exactly these, and the
    foreign key's triggers enabled; (None, why not) otherwise (every row's time is then tested).
    Every event above the returned seq is not earlier than the one before it."""
    older_up_to: list[int] = []

    def check_expected(definition: str) -> bool:
        match = _CHECK_PRINTED.fullmatch(definition)
        if match is None:
            return False
        older_up_to.append(int(match.group(1) or match.group(2)))
        return True

    ok, why = judge_catalog(CHECK_NAME, check_validated, check_definition, check_expected)
    if not ok:
        return None, why
    ok, why = judge_catalog(
        FOREIGN_KEY_NAME, key_validated, key_definition, lambda d: d == EXPECTED_FOREIGN_KEY
    )
    if not ok:
        return None, why
    if not key_triggers_enabled:
        return None, f"the triggers of the constraint {FOREIGN_KEY_NAME} are not all enabled"
    return older_up_to[0], ""
