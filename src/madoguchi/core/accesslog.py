"""gunicorn's access log, the same lines for less CPU (issue 15, sixth round).

gunicorn's `Logger.access` builds, for every request, a dictionary of every atom its format
language knows, every request header and every response header, then formats the configured
format with it: ~3.5% of the server's CPU on the desk's completion path. With the default
format (the one `madoguchi serve` uses) only nine atoms are read; `AccessLogger` builds just
those, and the timestamp's text once per second. Any other format takes gunicorn's own path.

The line itself then went through Python's logging (a LogRecord, the handler's lock, the
formatter): ~2% of the server's CPU (seventh round). When the access log is exactly what
gunicorn sets up (its own stream or file handler, the bare message format, no filter, not
propagated), `AccessLogger` writes the same line to that handler's stream under its lock;
anything else (syslog, a filter, another handler or format, logging disabled) takes logging.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

_DEFAULT_FORMAT = AccessLogFormat.default


_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)


class AccessLogger(Logger):
    _now_at: time.struct_time | None = None
    _now_text = ""

    def now(self) -> str:
        # The clock gunicorn reads (the C library's, which may lag time.time() by a few ms at
        # a second's turn); the text made once per second, as gunicorn writes it.
        at = time.localtime()
        if at != self._now_at:
            self._now_text = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", at)
            self._now_at = at
        return self._now_text

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        if self.cfg.access_log_format != _DEFAULT_FORMAT:
            return dict(super().atoms(resp, req, environ, request_time))
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "b": (sent is not None and str(sent)) or "-",
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }

    def _direct_handler(self) -> Any:
        """gunicorn's own handler of the access log when nothing but it would see the line;
        else None."""
        log = self.access_log
        if len(log.handlers) != 1 or log.filters or log.propagate:
            return None
        handler = log.handlers[0]
        formatter = handler.formatter
        if (
            type(handler) not in _PLAIN_HANDLERS
            or not getattr(handler, "_gunicorn", False)
            or handler.filters
            or handler.level > logging.INFO
            or getattr(handler, "stream", None) is None
            or type(formatter) is not logging.Formatter
            or formatter._fmt != self.access_fmt
            or self.access_fmt != "%(message)s"
            or not log.isEnabledFor(logging.INFO)
        ):
            return None
        return handler

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        handler = self._direct_handler()
        if handler is None:
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:
            return
        try:
            atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
            line = self.cfg.access_log_format % atoms
            handler.acquire()
            try:
                handler.stream.write(line + handler.terminator)
                handler.flush()
            finally:
                handler.release()
        except Exception:
            self.error(traceback.format_exc())
