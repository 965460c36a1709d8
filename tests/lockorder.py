"""Record the order in which a block takes row locks and the audit log's head lock.

The audit log serialises appends with one global lock (`audit.services._lock_head`). A
transaction that holds it and then waits for a row lock can deadlock on PostgreSQL with one
that holds the row and waits for the head. The rule: row locks first, `audit.record` last.

`LockOrder` records each `select_for_update()` query as the rows it returned, and each head
lock, on every database (SQLite drops the FOR UPDATE clause, but the query still asks for it,
which is what is recorded). Locking again a row the block already holds waits for nothing, so
only rows not locked before count::

    with LockOrder() as order:
        service(...)
    order.assert_rows_before_audit()

Row locks among themselves follow one order too (docs/benefits.md, "Payouts": a batch's links
before the batch), checked with `order.assert_locked_in_order("benefits.PaymentLink",
"benefits.PayoutBatch")`: every row of the first model locked before any of the next, and the
rows of one model by ascending pk.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from madoguchi.audit import services as audit

AUDIT = ("audit", frozenset())


class LockOrder:
    def __init__(self) -> None:
        self.events: list[tuple[str, frozenset[Any]]] = []
        # Each locked row in the order the database returned (and, on PostgreSQL, locked) it.
        self.rows: list[tuple[str, Any]] = []

    def __enter__(self) -> LockOrder:
        self._fetch_all = QuerySet._fetch_all
        self._lock_head = audit._lock_head
        self._append_in_database = audit._append_in_database
        order = self

        def fetch_all(qs: QuerySet[Any]) -> None:
            fresh = qs._result_cache is None
            order._fetch_all(qs)
            if fresh and qs.query.select_for_update:
                rows = qs._result_cache or []
                pks = frozenset(r.pk for r in rows if isinstance(r, Model))
                order.events.append((qs.model._meta.label, pks))
                order.rows.extend(
                    (qs.model._meta.label, r.pk) for r in rows if isinstance(r, Model)
                )

        def lock_head(using: str, **kwargs: Any) -> None:
            order.events.append(AUDIT)
            order._lock_head(using, **kwargs)

        def append_in_database(connection: Any, rows: Any, commit: Any = None) -> bool:
            # PostgreSQL: the lock, the head read and the insert are one statement (sent with
            # the COMMIT when `commit` is given).
            order.events.append(AUDIT)
            return bool(order._append_in_database(connection, rows, commit))

        QuerySet._fetch_all = fetch_all  # type: ignore[method-assign]
        audit._lock_head = lock_head
        audit._append_in_database = append_in_database
        return self

    def __exit__(self, *exc: object) -> None:
        QuerySet._fetch_all = self._fetch_all  # type: ignore[method-assign]
        audit._lock_head = self._lock_head
        audit._append_in_database = self._append_in_database

    def row_locks_after_audit(self) -> list[str]:
        """Rows first locked after the block's first head lock, as "app.Model pk"."""
        held: dict[str, set[Any]] = {}
        audited = False
        late = []
        for label, pks in self.events:
            if (label, pks) == AUDIT:
                audited = True
                continue
            new = pks - held.setdefault(label, set())
            if audited:
                late.extend(f"{label} {pk}" for pk in sorted(new))
            held[label] |= new
        return late

    def assert_rows_before_audit(self) -> None:
        late = self.row_locks_after_audit()
        assert not late, f"rows locked after the audit log's head lock: {late} ({self.events})"

    def rows_locked(self) -> list[tuple[str, Any]]:
        """The rows the block locked, each once, in the order it first locked them."""
        return list(dict.fromkeys(self.rows))

    def assert_locked_in_order(self, *labels: str) -> None:
        """The rows of `labels`' models were locked model by model in that order (every row of
        one before any of the next), and within a model by ascending pk."""
        rows = [(labels.index(label), pk) for label, pk in self.rows_locked() if label in labels]
        assert rows == sorted(rows), f"rows not locked in the order {labels}: {self.events}"
