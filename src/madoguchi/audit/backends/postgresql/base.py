"""PostgreSQL with the audit log appended at commit (see ``madoguchi.audit.backends``), a
connection check without a round trip, and `timestamptz` values read by psycopg's compiled
loader."""

from __future__ import annotations

import datetime
import functools
import select
from typing import Any

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe
from psycopg import adapt, pq
from psycopg.types.datetime import TimestamptzLoader

from madoguchi.audit.backends import AuditQueueMixin
from madoguchi.audit.backends.postgresql.creation import DatabaseCreation

# Whether psycopg runs its compiled implementation ("c" built locally, "binary" from the
# psycopg-binary wheel) rather than its pure-Python one; the public name, not the private module.
COMPILED = pq.__impl__ in ("c", "binary")


@functools.cache
def _compiled_timestamps(django_context: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters with psycopg's own `timestamptz` loader in place of Django's.

    Django reads every `timestamptz` through a Python subclass of psycopg's loader that sets the
    value's tzinfo to the connection's time zone (`.replace(tzinfo=...)`); as a Python class it
    cannot use psycopg's compiled loader, ~3 µs a value against ~0.2-0.8 µs (docs/performance.md,
    eighteenth round). When that time zone is UTC, which Django makes the session's `TimeZone`
    on every connection (USE_TZ without a database TIME_ZONE), psycopg's loader gives the same
    value with the same tzinfo object, `datetime.UTC`: registering psycopg's own class puts
    its compiled version in its place."""
    context = adapt.AdaptersMap(django_context)
    context.register_loader("timestamptz", TimestamptzLoader)
    return context


class DatabaseWrapper(AuditQueueMixin, base.DatabaseWrapper):
    creation_class = DatabaseCreation

    @functools.cached_property
    def compiled_timestamps(self) -> bool:
        """Whether this connection reads `timestamptz` with psycopg's compiled loader: the
        values are UTC (USE_TZ, no TIME_ZONE of the database's own) and the compiled module is
        there. Otherwise Django's loader, as Django sets it up."""
        return COMPILED and self.timezone is datetime.UTC

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if self.compiled_timestamps:
            params["context"] = _compiled_timestamps(params["context"])
        return params

    @async_unsafe
    def create_cursor(self, name: str | None = None) -> Any:
        """Django's cursor. Django's own `create_cursor` checks the connection's `timestamptz`
        loader against the wrapper's time zone and registers its loader on the cursor when they
        differ; psycopg's compiled loader has no time zone to compare (it reads the session's,
        UTC here), so with it the cursor is made as Django makes it, without that check."""
        if not self.compiled_timestamps:
            return super().create_cursor(name)
        if not name:
            return self.connection.cursor()
        # A server-side cursor (`QuerySet.iterator()`), as Django opens it.
        withhold = self.connection.autocommit
        if self.settings_dict["OPTIONS"].get("server_side_binding") is not True:
            return base.ServerSideCursor(  # type: ignore[attr-defined]  # psycopg 3 only
                self.connection, name=name, scrollable=False, withhold=withhold
            )
        return self.connection.cursor(name, scrollable=False, withhold=withhold)

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
