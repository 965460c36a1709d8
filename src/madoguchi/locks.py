"""A lock of one key for the rest of the caller's transaction: the check-then-record steps
that hold no row of their own (is this incident recorded yet? then record it) run one after
the other for the same key.

PostgreSQL: `pg_advisory_xact_lock(space, hashtext(key))`, the two-key form, which never meets
the audit log's one-key head lock; `space` keeps one caller's keys apart from another's. It is
taken before any row lock of the transaction and released at commit or rollback. SQLite: the
settings open every transaction with BEGIN IMMEDIATE, which serialises writers already."""

from __future__ import annotations

from django.db import connection


def key_lock(space: int, key: str) -> None:
    """Inside a transaction: hold the lock of `key` in `space` until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [space, key])
