"""gunicorn's own refusals (a request line or headers over the limits, an unreadable request)
say why in Japanese and English, name the limit and repeat nothing of the request: they were
gunicorn's English-only page quoting the request (docs/security.md "Request limits"). An API
client (an address under /api/, or Accept: application/json) gets the API's refusal body, with
the reason in English: it was the HTML page."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

APP = "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    here = tmp_path_factory.mktemp("gunicorn")
    (here / "hello.py").write_text(APP)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "hello:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "madoguchi.core.gworker.Worker",
            "--workers",
            "1",
            "--limit-request-line",
            "1000",
            "--limit-request-fields",
            "20",
            "--limit-request-field_size",
            "2000",
            "--no-control-socket",
            "--chdir",
            str(here),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(here)},
    )
    # Bounded but generous: a loaded CI machine can take long to import the worker.
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if b"200 OK" in _send(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"):
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("gunicorn with madoguchi's worker did not start answering")
        time.sleep(0.2)
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def _send(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
            got = b"".join(chunks)
            if b"\r\n\r\n" in got and (b"</html>" in got or got.endswith(b"}")):
                break
        return b"".join(chunks)


def test_a_request_line_over_the_limit_is_414_with_the_reason(server):
    answer = _send(server, b"GET /" + b"a" * 1500 + b"<b>x</b> HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414")
    assert b"charset=utf-8" in head
    text = body.decode("utf-8")
    assert "アドレス（URL）が長すぎます（リクエスト行は 1,000 バイトまで）" in text
    assert "The address is too long (a request line may be at most 1,000 bytes)" in text
    assert "<b>x</b>" not in text
    assert "aaaa" not in text


def test_too_many_or_too_large_headers_are_431_with_the_reason(server):
    many = b"".join(b"X-%d: 1\r\n" % n for n in range(40))
    big = b"Cookie: " + b"c" * 3000 + b"\r\n"
    for extra in (many, big):
        answer = _send(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431"), head[:40]
        text = body.decode("utf-8")
        assert "ヘッダーが多すぎるか大きすぎます（20 個まで、1 個 2,000 バイトまで）" in text
        assert "at most 20, each at most 2,000 bytes" in text


def test_an_unreadable_request_is_400_without_echo(server):
    answer = _send(server, b"G\x01T /<script> HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    text = body.decode("utf-8")
    assert "リクエストを読み取れませんでした" in text
    assert "The request could not be read" in text
    assert "<script>" not in text


def _refusal_body(answer, status):
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d" % status), head[:40]
    assert b"Content-Type: application/json" in head
    return json.loads(body)


def test_an_api_client_gets_the_refusal_body_in_english(server):
    too_long = b"GET /api/v1/visits/" + b"a" * 1500 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    body = _refusal_body(_send(server, too_long), 414)
    assert body["code"] == "request_line_too_long"
    assert body["message"].startswith(
        "The address is too long (a request line may be at most 1,000"
    )
    assert "アドレス（URL）が長すぎます" in body["message_ja"]
    assert "aaaa" not in json.dumps(body)

    many = b"".join(b"X-%d: 1\r\n" % n for n in range(40))
    headers = b"GET /desk/ HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n" + many
    body = _refusal_body(_send(server, headers + b"\r\n"), 431)
    assert body["code"] == "headers_too_large"
    assert "at most 20, each at most 2,000 bytes" in body["message"]

    body = _refusal_body(_send(server, b"G\x01T /api/v1/<script> HTTP/1.1\r\n\r\n"), 400)
    assert body["code"] == "bad_request"
    assert "<script>" not in json.dumps(body)


def test_a_browser_after_an_api_request_on_one_connection_gets_the_page(server):
    """The request refused is the one read: a kept-alive connection's earlier API request
    does not make the next one's refusal JSON."""
    first = b"GET /api/v1/x HTTP/1.1\r\nHost: x\r\nAccept: application/json\r\n\r\n"
    second = b"GET /desk/ HTTP/1.1\r\nHost: x\r\nCookie: " + b"c" * 3000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server), timeout=10) as s:
        s.sendall(first)
        answer = b""
        # The app gives no length, so the answer is chunked: read to its last chunk, or the
        # terminator could arrive late and be read as the start of the next answer.
        while not answer.endswith(b"\r\n0\r\n\r\n"):
            data = s.recv(65536)
            assert data, f"the connection closed after {answer[:60]!r}"
            answer += data
        assert answer.startswith(b"HTTP/1.1 200")
        s.sendall(second)
        answer = b""
        while b"</html>" not in answer:
            data = s.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431"), head[:40]
    assert b"text/html" in head
    assert "ヘッダーが多すぎるか大きすぎます" in body.decode("utf-8")
