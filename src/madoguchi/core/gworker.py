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

import html
import json
import socket
import threading
from typing import Any

from gunicorn import util
from gunicorn.http import parser
from gunicorn.http.unreader import SocketUnreader
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


class Worker(ThreadWorker):
    """`--worker-class madoguchi.core.gworker.Worker`: gthread with the refusals above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        LIMITS.update(
            line=self.cfg.limit_request_line,
            fields=self.cfg.limit_request_fields,
            field_size=self.cfg.limit_request_field_size,
        )
        util.write_error = write_error
        parser.SocketUnreader = HeadReader

    def handle(self, conn: TConn) -> Any:
        """gthread's `handle`, with the connection it reads known to `write_error`."""
        reader = getattr(conn.parser, "unreader", None)
        if isinstance(reader, HeadReader):
            reader.begin()  # a kept-alive connection: its next request starts here
        _reading.conn = conn
        try:
            return super().handle(conn)
        finally:
            _reading.conn = None
