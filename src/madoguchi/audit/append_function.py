"""The audit append as one statement on PostgreSQL: a PL/pgSQL function (issue 15).

``audit.services._append`` calls it once per writing transaction, just before COMMIT, with the
transaction's queued events (their canonical templates made by ``record()``). In order it:

1. checks the transaction's deferred constraints (``SET CONSTRAINTS ALL IMMEDIATE``): deferred
   foreign-key checks lock the rows they refer to, and nothing may wait for a row while
   holding the log's head;
2. takes the log's head lock (``pg_advisory_xact_lock``, held until the transaction ends);
3. reads the head (seq, chain hash). In READ COMMITTED each statement of a VOLATILE PL/pgSQL
   function takes a new snapshot, so this read, made after the lock was granted, sees every
   append committed before (tests/audit/test_append_at_commit.py checks it with two
   connections). A single plain statement would not: its snapshot is taken before the lock
   is waited for;
4. fills seq and time (below) into each event's canonical bytes (``head || seq || middle || time ||
   "}"``, byte for byte ``CanonicalTemplate.fill``), hashes them as Python does
   (``leaf = SHA-256(0x00 || canonical)``, ``chain = SHA-256(previous chain || leaf)``, hex),
   and inserts all events with one INSERT;
5. returns each event's seq, time, leaf hash and chain hash.

Each event also gets the previous event's seq and time (``previous_seq``, ``previous_time``):
the constraints of ``madoguchi.audit.timeorder`` check them against the row before it, so that
``audit verify`` need not compare every event's time with the previous one's.

The event time is the application's clock read just before the call (so the clock that stamps
visits and completions, and a test's, stamps events too), or the head's time if that is later
(the wait for the lock): time never decreases along seq. It is written into the canonical bytes
as the columns-match-canonical CHECK constraint reads the column (UTC, microseconds, "Z",
``format_time``'s form). The formats are
those of ``madoguchi.audit.canonical``: ``audit verify``, checkpoints and proofs read the rows
as before, and the columns-match-canonical CHECK constraint checks each row as it goes in.
SQLite keeps the Python path (``BEGIN IMMEDIATE`` holds its write lock from the start).
"""

from __future__ import annotations

from typing import Any

NAME = "madoguchi_audit_log_append"

# The argument types, in order (also the casts of the call's parameters).
ARGUMENTS = (
    ("lock_key", "bigint"),
    ("event_time", "timestamptz"),
    ("heads", "bytea[]"),
    ("middles", "bytea[]"),
    ("event_ids", "integer[]"),
    ("event_names", "text[]"),
    ("actor_ids", "text[]"),
    ("actor_labels", "text[]"),
    ("terminal_ids", "text[]"),
    ("terminal_labels", "text[]"),
    ("subject_types", "text[]"),
    ("subject_ids", "text[]"),
    ("payloads", "jsonb[]"),
)

_SIGNATURE = ", ".join(f"{name} {kind}" for name, kind in ARGUMENTS)

_CREATE_TEMPLATE = f"""
CREATE OR REPLACE FUNCTION {NAME}({_SIGNATURE})
RETURNS TABLE (
    appended_seq bigint, appended_time timestamptz, appended_leaf text, appended_chain text)
LANGUAGE plpgsql VOLATILE AS $append$
DECLARE
    head_seq bigint;
    head_chain text;
    head_time timestamptz;
    appended_at timestamptz;
    time_json bytea;
    previous bytea;
    next_seq bigint;
    canonical_bytes bytea;
    leaf bytea;
    seqs bigint[] := '{{}}';
    canonicals bytea[] := '{{}}';
    leaves text[] := '{{}}';
    chains text[] := '{{}}';
BEGIN
    SET CONSTRAINTS ALL IMMEDIATE;
    PERFORM pg_advisory_xact_lock(lock_key);
    -- A statement of its own: its snapshot is taken now, after the lock was granted.
    SELECT e.seq, e.chain_hash, e.time INTO head_seq, head_chain, head_time
        FROM audit_auditevent e ORDER BY e.seq DESC LIMIT 1;
    IF FOUND THEN
        next_seq := head_seq + 1;
        previous := decode(head_chain, 'hex');
    ELSE
        next_seq := 1;
        previous := decode(repeat('00', 32), 'hex');
    END IF;
    -- Never earlier than the head's time: time never decreases along seq.
    appended_at := greatest(event_time, head_time);
    time_json := convert_to(
        '"' || to_char(appended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"',
        'UTF8');
    FOR i IN 1 .. cardinality(heads) LOOP
        canonical_bytes := heads[i] || convert_to(next_seq::text, 'UTF8') || middles[i]
            || time_json || '\\x7d'::bytea;
        leaf := sha256('\\x00'::bytea || canonical_bytes);
        previous := sha256(previous || leaf);
        seqs := array_append(seqs, next_seq);
        canonicals := array_append(canonicals, canonical_bytes);
        leaves := array_append(leaves, encode(leaf, 'hex'));
        chains := array_append(chains, encode(previous, 'hex'));
        next_seq := next_seq + 1;
    END LOOP;
    INSERT INTO audit_auditevent (
        seq, time, event_id, event_name, actor_id, actor_label, terminal_id, terminal_label,
        subject_type, subject_id, payload, canonical, leaf_hash, chain_hash@LINKED_COLUMNS@)
    SELECT u.seq, appended_at, u.event_id, u.event_name, u.actor_id, u.actor_label,
        u.terminal_id, u.terminal_label, u.subject_type, u.subject_id, u.payload, u.canonical, u.leaf,
        u.chain@LINKED_VALUES@
    FROM unnest(seqs, event_ids, event_names, actor_ids, actor_labels, terminal_ids,
        terminal_labels, subject_types, subject_ids, payloads, canonicals, leaves, chains)
        AS u(seq, event_id, event_name, actor_id, actor_label, terminal_id, terminal_label,
            subject_type, subject_id, payload, canonical, leaf, chain);
    RETURN QUERY SELECT s.seq, appended_at, s.leaf, s.chain
        FROM unnest(seqs, leaves, chains) AS s(seq, leaf, chain);
END
$append$;
"""  # noqa: S608 (constants only)

# Each event's previous event, which the time-order constraints check (`madoguchi.audit.timeorder`,
# migration audit.0009): the head for the first (none for seq 1), the one before it in the call
# for the others (same time: one time for the whole call).
_LINKED_COLUMNS = ", previous_seq, previous_time"
_LINKED_VALUES = (
    ", nullif(u.seq - 1, 0), CASE WHEN u.seq = 1 THEN NULL WHEN u.seq = head_seq + 1 "
    "THEN head_time ELSE appended_at END"
)


def create_sql(*, linked: bool = True) -> str:
    """The function's CREATE OR REPLACE: `linked`, filling each event's previous seq and time
    (audit.0009 on); without, as audit.0006 and 0007 installed it, before those columns."""
    return _CREATE_TEMPLATE.replace("@LINKED_COLUMNS@", _LINKED_COLUMNS if linked else "").replace(
        "@LINKED_VALUES@", _LINKED_VALUES if linked else ""
    )


CREATE_SQL = create_sql()
UNLINKED_CREATE_SQL = create_sql(linked=False)

DROP_SQL = "DROP FUNCTION IF EXISTS {}({});".format(NAME, ", ".join(kind for _, kind in ARGUMENTS))

# The call: one statement, every value a parameter.
CALL_SQL = "SELECT appended_seq, appended_time, appended_leaf, appended_chain FROM {}({})".format(  # noqa: S608
    NAME, ", ".join(f"%s::{kind}" for _, kind in ARGUMENTS)
)


def array_literal(values: list[Any]) -> str:
    """`values` as PostgreSQL's array input text (``{"a","b",NULL}``), for a parameter the call
    casts to its array type (issue 15, eighth round: psycopg's list adaptation inspected and
    dumped every element of the call's eleven arrays in Python, about 5% of the server's CPU
    on the completion path under load). Each element: None is ``NULL``; an int its digits;
    bytes bytea's hex form ``\\x…``; a str (text, or JSON text for jsonb) double-quoted with
    ``\\`` and ``"`` escaped, the only two characters array input reads specially inside
    quotes. Anything else is refused, so no value reaches the SQL in a form not listed here."""
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif type(value) is int:
            parts.append(str(value))
        elif type(value) is bytes:
            parts.append('"\\\\x' + value.hex() + '"')
        elif isinstance(value, str):
            parts.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            raise TypeError(f"no array element form for {type(value).__name__}")
    return "{" + ",".join(parts) + "}"
