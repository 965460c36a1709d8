"""A HEAD request gets the GET's headers and no body, and gunicorn logs nothing about it: it
logged "WSGI app sent body bytes on a no-body response" at warning level for every HEAD
request (Django leaves the body to the server), which buried the warnings that mean something
(docs/security.md, side doors round 4)."""

import os
import socket
import subprocess
import sys
import time

import pytest

from tests.test_gunicorn_refusals import _send


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "gunicorn", "madoguchi.wsgi:application"]
    argv += ["--bind", f"127.0.0.1:{port}", "--worker-class", "madoguchi.core.gworker.Worker"]
    argv += ["--workers", "1", "--no-control-socket"]
    env = {**os.environ, "SECURE_COOKIES": "0", "SECURE_SSL_REDIRECT": "0", "DEBUG": "0"}
    # The server's log as it writes it: gunicorn's error log and its module loggers (the
    # warning came from gunicorn.http.wsgi through Python's logging) both go to stderr.
    errors = log.open("wb")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if b"200 OK" in _get(port, "GET", "/healthz"):
                break
        except OSError:
            time.sleep(0.3)
    yield port, log
    proc.terminate()
    proc.wait(timeout=30)
    errors.close()


def _get(port, method, path):
    request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    return _send(port, request.encode())


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page/"])
def test_a_head_request_has_the_gets_headers_no_body_and_logs_no_warning(server, path):
    port, log = server
    got = _get(port, "GET", path)
    head, _, body = got.partition(b"\r\n\r\n")
    assert body
    answer = _get(port, "HEAD", path)
    head_of_head, _, rest = answer.partition(b"\r\n\r\n")
    assert head_of_head.split(b"\r\n")[0] == head.split(b"\r\n")[0]  # the same status
    assert rest == b""
    length = [line for line in head_of_head.split(b"\r\n") if line.lower().startswith(b"content-")]
    assert length == [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-")]
    assert "no-body response" not in log.read_text()
    assert "Booting worker" in log.read_text()  # the log is the server's, and it is written
