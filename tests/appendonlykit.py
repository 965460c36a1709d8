"""Tampering as the tables' owner, the append-only triggers lifted: how a test shows that what
the triggers cannot stop is still detected (a report's hash, the audit chain)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction

from madoguchi.audit import triggers


@contextmanager
def owner_without_triggers() -> Iterator[Any]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            try:
                yield cursor
            finally:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        else:
            with triggers.suspended(connection):
                yield cursor
