"""PostgreSQL with the audit log appended at commit (see ``madoguchi.audit.backends``), and a
connection check without a round trip."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq

from madoguchi.audit.backends import AuditQueueMixin


class DatabaseWrapper(AuditQueueMixin, base.DatabaseWrapper):
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
