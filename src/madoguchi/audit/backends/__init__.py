"""Database backends that append the audit log at commit (docs/adr/1500-audit-appended-at-commit.md).

``audit.record()`` validates an event and queues it on the connection; the queue is written,
sequenced and chained in one step just before the transaction commits: the deferred
constraints are checked first (``SET CONSTRAINTS ALL IMMEDIATE``), then the log's head lock is
taken, the head read, the queued events inserted with one statement, and the transaction
committed, which releases the lock. On PostgreSQL the append and the COMMIT travel together
(one round trip, psycopg's pipeline mode), so the lock is held only while the server works. So the head lock is taken at most once per transaction,
after every row lock of the transaction, and held only for the append and the commit, never
while the application waits (for an outside system, for CPU, for another row).

A rollback (or a rolled-back savepoint) drops what was queued after it began. Inside a test's
transaction (Django's ``TestCase`` atomics, never committed) the queue is written when the
outermost block the application opened ends, so tests still see their events.
"""

from __future__ import annotations

from typing import Any


class AuditQueueMixin:
    """Mixed into a ``DatabaseWrapper``: the queue of audit events for the current transaction."""

    audit_queue: list[Any]
    _audit_marks: dict[str, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit_queue = []
        self._audit_marks = {}

    # --- transaction boundaries ----------------------------------------------------------

    def commit(self) -> None:
        if self.audit_queue:
            # Imported here: Django loads the database backend before the apps' models.
            from madoguchi.audit.services import flush_queue

            # PostgreSQL sends the append with the COMMIT (one round trip) and commits here.
            if flush_queue(self, commit=super().commit):  # type: ignore[misc]
                self._audit_reset()
                return
        super().commit()  # type: ignore[misc]
        self._audit_reset()

    def rollback(self) -> None:
        self._audit_reset()
        super().rollback()  # type: ignore[misc]

    def close(self) -> None:
        self._audit_reset()
        super().close()  # type: ignore[misc]

    def savepoint(self) -> str | None:
        sid: str | None = super().savepoint()  # type: ignore[misc]
        if sid is not None:
            self._audit_marks[sid] = len(self.audit_queue)
        return sid

    def savepoint_rollback(self, sid: str) -> None:
        super().savepoint_rollback(sid)  # type: ignore[misc]
        mark = self._audit_marks.get(sid)
        if mark is not None:
            del self.audit_queue[mark:]

    def savepoint_commit(self, sid: str) -> None:
        super().savepoint_commit(sid)  # type: ignore[misc]
        self._audit_marks.pop(sid, None)
        if self.audit_queue and self.audit_only_test_blocks():
            # Imported here: Django loads the database backend before the apps' models.
            from madoguchi.audit.services import flush_queue

            flush_queue(self)

    def audit_only_test_blocks(self) -> bool:
        """True when every open atomic block is a test case's (never committed): the block the
        application opened has ended, and the queue must be written now."""
        blocks = getattr(self, "atomic_blocks", [])
        return bool(blocks) and all(getattr(b, "_from_testcase", False) for b in blocks)

    def _audit_reset(self) -> None:
        self.audit_queue = []
        self._audit_marks = {}
