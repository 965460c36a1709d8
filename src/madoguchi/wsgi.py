"""WSGI entry point for `madoguchi serve` (gunicorn)."""

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def head_without_body(app: WSGIApp) -> WSGIApp:
    """A HEAD request gets the GET's status and headers (its Content-Length too) and no body.

    Django leaves dropping a HEAD response's body to the server; gunicorn drops it and logs
    "WSGI app sent body bytes on a no-body response" at warning level, once for every HEAD
    request (a monitor's check, a proxy's probe), which buried the warnings that mean
    something. The body is closed unread here (so Django's request_finished still runs and a
    file response's file is closed); every other response and gunicorn's own warnings are as
    they were.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        result = app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "HEAD":
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        return []

    return application


application = head_without_body(get_wsgi_application())
