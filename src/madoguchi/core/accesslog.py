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

No line holds what the data rules keep out of logs (docs/security.md, round 8): the request's
address and the Referer are written with their path scrubbed of long numbers and each query
value masked (`?reason=*`: the reason asked before residents' data is shown is free text),
every other atom (User-Agent, any header or environment value a custom format names) scrubbed
of long numbers (`madoguchi.logsafe`); gunicorn's error log takes the same filter as Django's.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

from madoguchi import logsafe

_DEFAULT_FORMAT = AccessLogFormat.default


_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler)

# Atoms that are addresses (their query values masked); gunicorn's `q` is the query alone.
_ADDRESSES = frozenset({"f", "U", "{referer}i", "{raw_uri}e", "{http_referer}e", "{path_info}e"})
_QUERIES = frozenset({"q", "{query_string}e"})


def _request_line(environ: Any) -> str:
    return (
        f"{logsafe.scrub(environ['REQUEST_METHOD'])} {logsafe.safe_url(environ['RAW_URI'])} "
        f"{environ['SERVER_PROTOCOL']}"
    )


def _safe_atoms(atoms: dict[str, Any], environ: Any) -> dict[str, Any]:
    """gunicorn's atoms for any other format, without what the data rules keep out of logs."""
    safe: dict[str, Any] = {}
    for name, value in atoms.items():
        if not isinstance(value, str):
            safe[name] = value
        elif name == "r":
            safe[name] = _request_line(environ)
        elif name in _ADDRESSES:
            safe[name] = logsafe.safe_url(value)
        elif name in _QUERIES:
            safe[name] = logsafe.safe_url("/?" + value)[2:] if value else value
        else:
            safe[name] = logsafe.safe_header(value)
    return safe


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
            return _safe_atoms(dict(super().atoms(resp, req, environ, request_time)), environ)
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": logsafe.safe_header(self._get_user(environ) or "-"),
            "t": self.now(),
            "r": _request_line(environ),
            "s": status,
            "b": (sent is not None and str(sent)) or "-",
            "f": logsafe.safe_url(environ.get("HTTP_REFERER", "-")),
            "a": logsafe.safe_header(environ.get("HTTP_USER_AGENT", "-")),
        }

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn's error log (its own handlers, not propagated): an unreadable request's
        # line, a worker's traceback, scrubbed of long numbers as Django's records are.
        logsafe.install(self.error_log)

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
