"""The server log's line for a refused request: who, what, why, on one line.

Django logs a refused request (PermissionDenied: 403; SuspiciousOperation, BadRequest and an
unreadable body: 400) at warning or error level with the exception attached, so the log showed
a whole traceback for each refusal, as if something had broken. Through this filter (on the
console handler, settings.LOGGING) such a record becomes one line: Django's own message (status
and path), the method, who asked (the signed-in user name, else anonymous) and from where, and
why (the exception's text). A refusal answered rather than raised (the API's, with its code
as why) and a CSRF refusal, which Django logs without an exception and without
who or from where, takes the same shape. A 5xx record keeps its traceback: that is a fault to
look into.
"""

from __future__ import annotations

import logging
from typing import Any

from madoguchi.refusals import REFUSED_ON

__all__ = ["RefusalsOnOneLine"]


def _plain(text: str) -> str:
    """`text` on one line, control characters escaped (it may come from the request)."""
    return text.encode("unicode_escape").decode("ascii")


def _who(request: Any) -> str:
    user = getattr(request, "user", None)  # absent when refused before authentication
    if user is not None and getattr(user, "is_authenticated", False):
        return _plain(user.get_username())
    return "anonymous"


_CSRF_LOGGER = "django.security.csrf"


class RefusalsOnOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or status >= 500:
            return True
        csrf = record.name == _CSRF_LOGGER and isinstance(record.args, tuple)
        request = getattr(record, "request", None)
        code = getattr(request, REFUSED_ON, None)
        if not record.exc_info and not csrf and not code:
            return True
        meta = getattr(request, "META", {}) or {}
        method = _plain(str(getattr(request, "method", "") or "?"))
        address = _plain(str(meta.get("REMOTE_ADDR") or "?"))
        if record.exc_info:
            exc = record.exc_info[1]
            why = _plain(str(exc)) if exc is not None and str(exc) else type(exc).__name__
            said = record.getMessage()
        elif not csrf:
            # A refusal answered, not raised (the API's, a page's refusal): Django's line,
            # "Unauthorized: /api/v1/agent/events", said neither who, from where nor why.
            said = record.getMessage()
            why = _plain(str(code))
        else:
            # The CSRF check refuses without an exception: its line, "Forbidden (<reason>):
            # <path>", said neither who nor from where. It takes the others' shape, the
            # reason last as their exception's text is.
            args = record.args if isinstance(record.args, tuple) else ()
            reason, path = args if len(args) == 2 else ("", "")
            said = f"Forbidden (CSRF): {_plain(str(path or getattr(request, 'path', '')))}"
            why = _plain(str(reason)) or "CSRF verification failed"
        record.msg = "%s (%s by %s from %s): %s"
        record.args = (said, method, _who(request), address, why)
        record.exc_info = None
        record.exc_text = None
        return True
