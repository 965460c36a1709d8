"""gunicorn's threaded worker with the refusals gunicorn answers itself in Japanese and English.

gunicorn refuses some requests before Django sees them: a request line longer than
`--limit-request-line` (414), more header fields than `--limit-request-fields` or one longer
than `--limit-request-field_size` (431), a request it cannot parse (400), a transfer coding it
does not take (501). Its own page is English-only and repeats part of the request it refused.
This worker answers the same statuses with a short page that says why in Japanese, then in
English, names the limit, and repeats nothing the client sent. An API client (a request for
`/api/...`, or one that accepts `application/json`: the rule Django's own refusals follow in
`madoguchi.core.views.refusal_response`) gets the API's refusal body instead,
`{code, message, message_ja}` with the English reason. `madoguchi serve` sets the limits
explicitly (docs/security.md "Request limits").

gunicorn refuses before it has a request, so the worker keeps the first bytes it reads of each
request (`HEAD_BYTES`, through its socket reader) and reads the address and the `Accept`
header from them. The writer replaces `gunicorn.util.write_error`, which gunicorn's base
worker calls for these refusals; both are installed only when gunicorn loads this worker
class, in the server's own processes.
"""

from __future__ import annotations

import contextlib
import html
import json
import selectors
import signal
import socket
import threading
import time
from typing import Any

from gunicorn import util
from gunicorn.http import parser
from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers import gthread
from gunicorn.workers.gthread import TConn, ThreadWorker

# gunicorn's request limits (its own defaults; `madoguchi serve` sets them explicitly): the
# request line's bytes, the number of header fields, one field's bytes.
DEFAULT_LIMITS = {"line": 4094, "fields": 100, "field_size": 8190}
# The limits this server's gunicorn runs with (set by the worker from its configuration).
LIMITS = dict(DEFAULT_LIMITS)

# How much of a request's start the worker keeps to tell an API client: the request line's
# address and, unless the line itself was too long, the headers that fit.
HEAD_BYTES = 16384

# The API's code for each refusal (what the JSON body's `code` says).
_CODES = {
    400: "bad_request",
    414: "request_line_too_long",
    431: "headers_too_large",
    501: "transfer_coding_unsupported",
}

_SAYS: dict[int, tuple[str, str]] = {
    400: (
        "リクエストを読み取れませんでした。最初の画面に戻り、もう一度お試しください。",
        "The request could not be read. Go back to the start and try again.",
    ),
    414: (
        "アドレス（URL）が長すぎます（リクエスト行は {line:,} バイトまで）。"
        "画面のボタンから操作するか、最初の画面に戻ってください。",
        "The address is too long (a request line may be at most {line:,} bytes). Use the "
        "buttons on the page, or go back to the start.",
    ),
    431: (
        "リクエストのヘッダーが多すぎるか大きすぎます（{fields:,} 個まで、1 個 {field_size:,} "
        "バイトまで）。このサイトの Cookie を削除してから、最初の画面に戻ってください。",
        "The request's headers are too many or too large (at most {fields:,}, each at most "
        "{field_size:,} bytes). Delete this site's cookies, then go back to the start.",
    ),
    501: (
        "この転送方式（Transfer-Encoding）には対応していません。何も行っていません。",
        "This transfer coding (Transfer-Encoding) is not supported. Nothing was done.",
    ),
}
_OTHER = (
    "リクエストを受け付けられませんでした。最初の画面に戻り、もう一度お試しください。",
    "The request could not be accepted. Go back to the start and try again.",
)


def _reasons(status: int) -> tuple[str, str]:
    ja, en = _SAYS.get(status, _OTHER)
    return ja.format(**LIMITS), en.format(**LIMITS)


def refusal_page(status: int) -> str:
    ja, en = _reasons(status)
    return (
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>"
        f"<title>{status}</title></head><body><h1>{status}</h1>"
        f"<p>{html.escape(ja)}</p><p lang='en'>{html.escape(en)}</p></body></html>\n"
    )


def refusal_body(status: int) -> str:
    """The API's refusal body: the stable code, the reason in English and in Japanese."""
    ja, en = _reasons(status)
    body = {"code": _CODES.get(status, "refused"), "message": en, "message_ja": ja}
    return json.dumps(body, ensure_ascii=False)


def is_api_request(head: bytes) -> bool:
    """Whether the start of a request is an API client's: its address is under `/api/`, or an
    `Accept` header among the headers read names `application/json`."""
    line, _, rest = head.partition(b"\r\n")
    parts = line.split(b" ")
    if len(parts) > 1 and parts[1].startswith(b"/api/"):
        return True
    for field in rest.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"accept" and b"application/json" in value.lower():
            return True
    return False


class HeadReader(SocketUnreader):
    """gunicorn's socket reader that also keeps the first `HEAD_BYTES` of the request being
    read (`begin` starts the next request with what is already buffered of it)."""

    def __init__(self, sock: socket.socket, max_chunk: int = 8192) -> None:
        super().__init__(sock, max_chunk)
        self.head = b""

    def begin(self) -> None:
        self.head = self.buf.getvalue()[:HEAD_BYTES]

    def chunk(self, size_hint: int | None = None) -> bytes:
        data: bytes = super().chunk(size_hint)
        if len(self.head) < HEAD_BYTES:
            self.head += data[: HEAD_BYTES - len(self.head)]
        return data


# The connection each worker thread is reading a request from (set by `Worker.handle`).
_reading = threading.local()


def _reading_api_request() -> bool:
    reader = getattr(getattr(getattr(_reading, "conn", None), "parser", None), "unreader", None)
    return isinstance(reader, HeadReader) and is_api_request(reader.head)


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error` with the page above, or the API's body for an API client
    (`mesg`, which may quote the request, is left out)."""
    if _reading_api_request():
        body = refusal_body(status_int).encode("utf-8")
        content_type = "application/json"
    else:
        body = refusal_page(status_int).encode("utf-8")
        content_type = "text/html; charset=utf-8"
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        f"Content-Type: {content_type}\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# How often a thread waiting for a new connection's first bytes looks whether the worker is
# stopping (gthread waits up to `DEFAULT_WORKER_DATA_TIMEOUT`, 5 s, without looking).
STOP_CHECK_SECONDS = 0.2


class Worker(ThreadWorker):
    """`--worker-class madoguchi.core.gworker.Worker`: gthread with the refusals above, which
    stops as soon as its requests in flight are answered.

    gthread's stop waited on connections that carry no request: a new connection whose client
    has sent nothing yet (a browser opens spare ones ahead) held its thread for up to 5 s, and
    one parked to wait for its first bytes was kept until gunicorn's graceful timeout (30 s), so
    `madoguchi serve` took 7 to 30 s to end on SIGTERM. A stopping worker now closes them at
    once (no request was begun on them, the client opens another); a request already being
    read or answered still finishes, within the graceful timeout, and a kept-alive connection
    still gets gthread's short linger for a request already on its way. SIGINT (Ctrl-C in the
    server's terminal reaches the workers too) stops a worker the same graceful way as SIGTERM,
    not by exiting mid-request; the master does the same (`madoguchi.core.gconf`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        LIMITS.update(
            line=self.cfg.limit_request_line,
            fields=self.cfg.limit_request_fields,
            field_size=self.cfg.limit_request_field_size,
        )
        util.write_error = write_error
        parser.SocketUnreader = HeadReader

    def init_signals(self) -> None:
        super().init_signals()
        signal.signal(signal.SIGINT, self.handle_exit)  # graceful, as SIGTERM
        signal.siginterrupt(signal.SIGINT, False)

    def murder_pending(self) -> None:
        """gthread's, and once stopping every connection still waiting for its first bytes is
        closed (nothing was asked on it)."""
        if self.alive:
            return super().murder_pending()
        while self.pending_conns:
            conn = self.pending_conns.popleft()
            with contextlib.suppress(OSError, KeyError, ValueError):  # already unregistered
                self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()

    def first_bytes(self, conn: TConn) -> bool:
        """Whether a new connection's first bytes came within gthread's wait for them; the
        wait ends early, False, once the worker is stopping and nothing has come."""
        if conn.data_ready:
            return True
        deadline = time.monotonic() + gthread.DEFAULT_WORKER_DATA_TIMEOUT
        with selectors.DefaultSelector() as sel:
            try:
                sel.register(conn.sock, selectors.EVENT_READ)
            except (OSError, ValueError):
                return False  # closed meanwhile
            while True:
                left = deadline - time.monotonic()
                wait = min(left, STOP_CHECK_SECONDS) if self.alive else 0.0
                try:
                    if sel.select(timeout=max(wait, 0.0)):
                        conn.data_ready = True
                        return True
                except (OSError, ValueError):
                    return False
                if not self.alive or left <= 0:
                    return False

    def enqueue_req(self, conn: TConn) -> None:
        """gthread's hand-over of a readable connection to the thread pool, noting when: the
        request's wait for a free thread is measured from here (`pool_wait`)."""
        conn.madoguchi_enqueued = time.perf_counter()
        super().enqueue_req(conn)

    def handle(self, conn: TConn) -> Any:
        """gthread's `handle`, with the connection it reads known to `write_error`; a new
        connection's first bytes are waited for as `first_bytes` says."""
        if not conn.initialized and not conn.data_ready and not self.first_bytes(conn):
            # Parked to wait for its bytes without a thread, or closed when stopping.
            return gthread._DEFER if self.alive else False
        reader = getattr(conn.parser, "unreader", None)
        if isinstance(reader, HeadReader):
            reader.begin()  # a kept-alive connection: its next request starts here
        _reading.conn = conn
        enqueued = getattr(conn, "madoguchi_enqueued", None)
        _reading.pool_wait = None if enqueued is None else time.perf_counter() - enqueued
        try:
            return super().handle(conn)
        finally:
            _reading.conn = None


def pool_wait() -> float | None:
    """Seconds the request this thread serves waited for a free thread of the worker's pool,
    from the moment the worker's main loop found its connection readable (None outside a
    gunicorn worker thread)."""
    return getattr(_reading, "pool_wait", None)
