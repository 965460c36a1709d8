"""gunicorn's threaded worker with the refusals gunicorn answers itself in Japanese and English.

gunicorn refuses some requests before Django sees them: a request line longer than
`--limit-request-line` (414), more header fields than `--limit-request-fields` or one longer
than `--limit-request-field_size` (431), a request it cannot parse (400), a transfer coding it
does not take (501). Its own page is English-only and repeats part of the request it refused.
This worker answers the same statuses with a short page that says why in Japanese, then in
English, names the limit, and repeats nothing the client sent. `madoguchi serve` sets the
limits explicitly (docs/security.md "Request limits").

The page writer replaces `gunicorn.util.write_error`, which gunicorn's base worker calls for
these refusals; it is installed only when gunicorn loads this worker class, in the server's
own processes.
"""

from __future__ import annotations

import html
import socket
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

# gunicorn's request limits (its own defaults; `madoguchi serve` sets them explicitly): the
# request line's bytes, the number of header fields, one field's bytes.
DEFAULT_LIMITS = {"line": 4094, "fields": 100, "field_size": 8190}
# The limits this server's gunicorn runs with (set by the worker from its configuration).
LIMITS = dict(DEFAULT_LIMITS)

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


def refusal_page(status: int) -> str:
    ja, en = _SAYS.get(status, _OTHER)
    ja, en = ja.format(**LIMITS), en.format(**LIMITS)
    return (
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>"
        f"<title>{status}</title></head><body><h1>{status}</h1>"
        f"<p>{html.escape(ja)}</p><p lang='en'>{html.escape(en)}</p></body></html>\n"
    )


def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's `util.write_error` with the page above (`mesg`, which may quote the
    request, is left out)."""
    body = refusal_page(status_int).encode("utf-8")
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Cache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class Worker(ThreadWorker):
    """`--worker-class madoguchi.core.gworker.Worker`: gthread with the pages above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        LIMITS.update(
            line=self.cfg.limit_request_line,
            fields=self.cfg.limit_request_fields,
            field_size=self.cfg.limit_request_field_size,
        )
        util.write_error = write_error
