"""PostgreSQL with the audit log appended at commit (see ``madoguchi.audit.backends``), a
connection check without a round trip, and a transaction's BEGIN sent with its first statement.

Round trips (issue 15, sixteenth round): psycopg sends a transaction's BEGIN on its own and waits
for its answer before the transaction's first statement, one round trip per transaction in
which the server does nothing. Here psycopg's connection stays in autocommit mode and the
transaction Django opens (`set_autocommit(False)`, an atomic block) is begun by the backend: the
BEGIN waits on the connection and goes to the server in one pipeline with the first statement
the transaction sends (or with its COMMIT, through the audit append's pipeline), so both answers
come back in one round trip. A transaction that sends nothing sends no BEGIN and no COMMIT.
Statements whose answer nobody reads (`defer`) wait the same way and travel with the next
statement or the COMMIT. What the server runs, and in which order, is unchanged.
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg import pq

from madoguchi.audit.backends import AuditQueueMixin

_PENDING = "_madoguchi_pending"  # on psycopg's connection: [(SQL, parameters)] not sent yet


class _Begin(bytes):
    """A transaction's BEGIN waiting on the connection (told apart from deferred statements)."""


def _send_pending(conn: Any, pending: list[tuple[Any, Any]]) -> None:
    """Queue `pending` in the pipeline the connection is in (their answers are checked when the
    pipeline syncs; an error in one is raised there and the rest are skipped by the server)."""
    for query, params in pending:
        with conn.cursor() as cursor:
            cursor.execute(query, params)


def flush_pending(conn: Any) -> None:
    """Send what waits on `conn` now, in one round trip (before a statement that cannot travel
    in a pipeline: a server-side cursor, COPY, a streamed read)."""
    pending = getattr(conn, _PENDING, None)
    if pending:
        setattr(conn, _PENDING, [])
        with conn.pipeline():
            _send_pending(conn, pending)


class _BeginWithFirstStatement:
    """Mixed into Django's psycopg cursor classes: what waits on the connection (the
    transaction's BEGIN, deferred statements) is sent in one pipeline with this statement."""

    connection: Any

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        conn = self.connection
        pending = getattr(conn, _PENDING, None)
        if getattr(self, "_madoguchi_defer", False) and pending is not None:
            pending.append((query, params))  # `DatabaseWrapper.defer`: sent later
            return self
        if not pending:
            return super().execute(query, params, **kwargs)  # type: ignore[misc]
        if params is None and ";" in (query if isinstance(query, str | bytes) else ""):
            # Perhaps several commands in one string (a migration's SQL): they go by the simple
            # query protocol, never in a pipeline; what waits goes first, on its own.
            flush_pending(conn)
            return super().execute(query, params, **kwargs)  # type: ignore[misc]
        setattr(conn, _PENDING, [])
        if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:  # a pipeline already open
            _send_pending(conn, pending)
            return super().execute(query, params, **kwargs)  # type: ignore[misc]
        with conn.pipeline():
            _send_pending(conn, pending)
            super().execute(query, params, **kwargs)  # type: ignore[misc]
        return self

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
        flush_pending(self.connection)
        return super().executemany(query, params_seq, **kwargs)  # type: ignore[misc]

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        flush_pending(self.connection)
        return super().copy(*args, **kwargs)  # type: ignore[misc]

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        flush_pending(self.connection)
        return super().stream(*args, **kwargs)  # type: ignore[misc]


class ServerBindingCursor(_BeginWithFirstStatement, base.ServerBindingCursor):  # type: ignore[name-defined]
    pass


class Cursor(_BeginWithFirstStatement, base.Cursor):  # type: ignore[name-defined]
    pass


_FACTORIES = {base.ServerBindingCursor: ServerBindingCursor, base.Cursor: Cursor}  # type: ignore[attr-defined]


class DatabaseWrapper(AuditQueueMixin, base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        factory = params.get("cursor_factory")
        params["cursor_factory"] = _FACTORIES.get(factory, factory)
        return params

    # --- the transaction's BEGIN, sent with its first statement ------------------------------

    def _set_autocommit(self, autocommit: bool) -> None:
        """psycopg's connection stays in autocommit mode; a transaction Django opens waits as a
        BEGIN on the connection until its first statement (or its COMMIT) is sent."""
        conn = self.connection
        if not conn.autocommit:  # a new connection (psycopg opens it out of autocommit)
            with self.wrap_database_errors:
                conn.autocommit = True
        if autocommit:
            setattr(conn, _PENDING, [])
        else:
            setattr(conn, _PENDING, [(_Begin(conn._get_tx_start_command()), None)])

    def _commit(self) -> None:
        conn = self.connection
        if conn is None:
            return
        pending = getattr(conn, _PENDING, None)
        setattr(conn, _PENDING, [])
        if conn.pgconn.pipeline_status != pq.PipelineStatus.OFF:
            # In the caller's pipeline (the audit append's): the COMMIT is queued behind it and
            # answered at the pipeline's end, one round trip for all. psycopg's own commit()
            # would sync and wait for its answer here, and the pipeline's end wait once more.
            with self.wrap_database_errors:
                _send_pending(conn, [*(pending or []), (b"COMMIT", None)])
            return
        if pending and any(not isinstance(query, _Begin) for query, _ in pending):
            # Deferred statements (and the BEGIN if it still waits): sent with the COMMIT, all
            # answered at the pipeline's end.
            with self.wrap_database_errors, conn.pipeline():
                _send_pending(conn, [*pending, (b"COMMIT", None)])
            return
        # Nothing pending, or only the BEGIN (the transaction sent nothing: nothing to commit).
        super()._commit()  # type: ignore[misc]

    def _rollback(self) -> None:
        conn = self.connection
        if conn is not None:
            setattr(conn, _PENDING, [])  # never sent: nothing of it to undo
        super()._rollback()  # type: ignore[misc]

    def create_cursor(self, name: str | None = None) -> Any:
        if not name or self.connection is None:
            return super().create_cursor(name)
        # A server-side cursor cannot travel in a pipeline: what waits is sent first, and in a
        # transaction the cursor is declared in it, not held past it (Django reads psycopg's
        # autocommit for that, which here stays on).
        flush_pending(self.connection)
        hold = self.get_autocommit()
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            cursor = base.ServerSideCursor(  # type: ignore[attr-defined]
                self.connection, name=name, scrollable=False, withhold=hold
            )
        else:
            cursor = self.connection.cursor(name, scrollable=False, withhold=hold)
        loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)  # type: ignore[attr-defined]
        if self.timezone != loader.timezone:
            base.register_tzloader(self.timezone, cursor)  # type: ignore[attr-defined]
        return cursor

    def defer(self, query: str, params: Any) -> None:
        """Run `query` (through Django's cursor: counted and logged as any statement) but send
        it with the transaction's next statement or its COMMIT, in one round trip, where its
        answer is not read: an error in it surfaces there and fails the transaction as it would
        have (the server skips the rest of the pipeline). Outside a transaction it is sent now."""
        with self.cursor() as cursor:
            cursor.cursor._madoguchi_defer = not self.get_autocommit()
            cursor.execute(query, params)

    def is_usable(self) -> bool:
        """Django's check of a kept connection (CONN_HEALTH_CHECKS: before each request's first
        query), without a round trip when the answer is plain: an idle connection whose socket
        has nothing to read is usable. A server that ended the connection (restarted, crashed,
        terminated the backend, an idle timeout) has closed the socket, after its last message
        if it could send one, so the socket reads as ready; then, and after any error, Django's
        own check (`SELECT 1`) decides. Issue 15: that check was a round trip and a transaction
        per request."""
        conn = self.connection
        if conn is None or conn.closed:
            return False
        if self.errors_occurred or conn.info.transaction_status != pq.TransactionStatus.IDLE:
            return bool(super().is_usable())
        try:
            poller = select.poll()
            poller.register(conn.fileno(), select.POLLIN)
            ready = poller.poll(0)
        except (OSError, ValueError):
            return False
        return bool(super().is_usable()) if ready else True
