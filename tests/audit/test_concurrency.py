"""Concurrent appenders must serialise: one unbroken chain, no duplicate or missing seq."""

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_chain

THREADS = 50


@pytest.fixture
def shared_database(tmp_path):
    """A database that worker threads really share with their own connections.

    PostgreSQL, or SQLite on a file: the test database as is. SQLite in memory (shared cache):
    its table locks fail at once instead of waiting, unlike the file database the application
    runs on; so copy it to a file and point new (thread) connections at that file.
    """
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        yield
        return
    path = tmp_path / "audit.sqlite3"
    target = sqlite3.connect(path)
    connection.ensure_connection()
    connection.connection.backup(target)
    target.close()
    original = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = str(path)
    try:
        yield
    finally:
        connection.settings_dict["NAME"] = original


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run fn with a fresh database connection of its own (a new thread)."""
    out: dict[str, Any] = {}

    def run() -> None:
        from django.db import connection as thread_connection

        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc
        finally:
            thread_connection.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_append_one_unbroken_chain(shared_database):
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            with transaction.atomic():
                audit.record("accounts.sign_in_failed", payload={"username": f"u{n}", "n": n})
        except BaseException as exc:
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []

    def inspect() -> tuple[list[int], list[int], Any]:
        seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
        ns = sorted(e.payload["n"] for e in AuditEvent.objects.all())
        return seqs, ns, verify_chain()

    seqs, ns, result = in_thread(inspect)
    assert seqs == list(range(1, THREADS + 1))
    assert ns == list(range(THREADS))
    assert result.ok, result.message
    assert result.size == THREADS
