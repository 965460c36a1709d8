"""No log madoguchi writes holds a long number or a reason's text (docs/security.md, round 8)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from madoguchi import logsafe

# What the logs may not hold: twelve digits or more (full-width ones read as digits), each
# perhaps after a space or a hyphen.
_RUN = re.compile(r"\d(?:[\s\-‐－ー−]?\d){11,}")
_FULL_WIDTH = "１２３４５６７８９０１２"
_REASON = "山田太郎さんの相談"


def _runs(text: str) -> list[str]:
    """The long numbers in `text`, as written or escaped (`\\uff11`: Django escapes a path)."""
    read = text.encode("ascii", "backslashreplace").decode("unicode_escape")
    return [
        *_RUN.findall(unicodedata.normalize("NFKC", text)),
        *_RUN.findall(unicodedata.normalize("NFKC", read)),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "123456789012",
        "1234 5678 9012",
        "1234-5678-9012",
        _FULL_WIDTH,
        "１２３４　５６７８　９０１２",  # ideographic spaces
        "①②③④⑤⑥⑦⑧⑨⑩①②",  # digits only NFKC reads as such
        "7010000000000001",
    ],
)
def test_scrub_leaves_no_long_number(text):
    said = logsafe.scrub(f"before {text} after")
    assert not _runs(said)
    assert said.startswith("before ")
    assert said.endswith(" after")
    assert "[number]" in said


def test_scrub_keeps_shorter_numbers_and_plain_text():
    for text in ("0120-95-0178", "visit 12345 ended", "2026-12-01 20:57:00", "受付番号 12"):
        assert logsafe.scrub(text) == text


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("/healthz", "/healthz"),
        ("/officials/incidents/?reason=x&day=", "/officials/incidents/?reason=*&day="),
        ("/a/123456789012/", "/a/[number]/"),
        ("/a/1234%205678%209012?q=1", "/a/[number]?q=*"),
        (
            "/a/%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98"
            "%EF%BC%99%EF%BC%90%EF%BC%91%EF%BC%92",
            "/a/[number]",
        ),
        ("/a/?123456789012=1", "/a/?[number]=*"),
        (
            "http://127.0.0.1:8000/cases/?reason=%E5%B1%B1#x",
            "http://127.0.0.1:8000/cases/?reason=*",
        ),
        ("-", "-"),
    ],
)
def test_an_address_keeps_its_path_and_names_not_values_or_numbers(url, said):
    assert logsafe.safe_url(url) == said


def test_an_escaped_number_is_found():
    escaped = _FULL_WIDTH.encode("unicode_escape").decode("ascii")
    said = logsafe.scrub(f"Not Found: /a/{escaped}/\\n")
    assert said == "Not Found: /a/[number]/\\n"


def test_other_backslashes_are_kept_as_written(recwarn):
    """A traceback's regular expression or a Windows path: no escape to read, no warning."""
    text = r're.compile("\d+") at C:\x\new \u5c71'
    assert logsafe.scrub(text) == text
    assert logsafe.scrub(text + r" \uff11" * 12) == text + " [number]"
    assert not recwarn.list


def test_a_header_sent_as_utf8_is_read_as_such():
    """WSGI gives header values as Latin-1: a full-width number is still found."""
    sent = f"probe/1.x {_FULL_WIDTH}".encode().decode("latin-1")
    assert logsafe.safe_header(sent) == "probe/1.x [number]"


def test_the_filter_scrubs_message_arguments_and_traceback():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "Not Found: %s", ("/a/123456789012",), None
    )
    try:
        raise ValueError("bad value 1234-5678-9012")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert logsafe.Scrubbed().filter(record)
    line = logging.Formatter().format(record)
    assert not _runs(line)
    assert "Not Found: /a/[number]" in line
    assert "ValueError: bad value [number]" in line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def _probe(client: httpx.Client, base: str) -> list[int]:
    """Requests carrying a 12-digit value (and a reason's text) everywhere a client can put one:
    the query, the path, the Referer, the User-Agent and a form body."""
    headers = {
        "Referer": f"{base}/cases/1234-5678-9012/?reason={quote(_REASON)}",
        "User-Agent": f"probe/1.0 ({_FULL_WIDTH})".encode(),
    }
    statuses = [
        client.get(
            f"{base}/officials/incidents/",
            params={"reason": f"{_REASON} 123456789012", "q": _FULL_WIDTH},
            headers=headers,
        ).status_code,
        client.get(f"{base}/no-such-page/123456789012/", headers=headers).status_code,
        client.get(f"{base}/no-such-page/{_FULL_WIDTH}", headers=headers).status_code,
        client.post(
            f"{base}/cases/123456789012/step/x/",
            data={"number": "123456789012", "reason": _REASON},
            headers=headers,
        ).status_code,
    ]
    return statuses


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_serve_logs_no_long_number_nor_reason_over_http(tmp_path):
    """`madoguchi serve` (gunicorn and Django's loggers): its access log and its error log
    (standard error) hold no 12-digit run and no reason's text, and still say method, path,
    status and time for each request."""
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    port = _free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MADOGUCHI_ORIGIN": f"http://127.0.0.1:{port}",
        "SECURE_COOKIES": "0",
        "DEBUG": "0",
        "MADOGUCHI_DEMO": "0",
        "SECRET_KEY": "test-only-not-a-secret",
        "MADOGUCHI_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "INFO",
        "SWEEP_INTERVAL_SECONDS": "3600",
    }
    script = Path(sys.executable).with_name("madoguchi")
    argv = [str(script), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"]
    with errors.open("wb") as err:
        server = subprocess.Popen(
            [*argv, "--access-log", str(access)], env=env, stdout=err, stderr=err
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/healthz", server)
        with httpx.Client(timeout=30) as client:
            statuses = _probe(client, base)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert statuses[1:3] == [404, 404]
    assert statuses[3] == 403  # no CSRF token: refused and logged by Django
    access_text = access.read_text("utf-8")
    error_text = errors.read_text("utf-8")
    for text in (access_text, error_text):
        assert not _runs(text)
        assert _REASON not in text
        assert "山田" not in text
    lines = access_text.splitlines()
    assert any('"GET /no-such-page/[number]/ HTTP/1.1" 404 ' in line for line in lines)
    assert any('"GET /officials/incidents/?reason=*&q=* HTTP/1.1" ' in line for line in lines)
    assert any('"POST /cases/[number]/step/x/ HTTP/1.1" 403 ' in line for line in lines)
    assert all(re.search(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]", line) for line in lines)
    assert f'"{base}/cases/[number]/?reason=*" "probe/1.0 ([number])"' in access_text
    # Django's own lines (the 404s, the CSRF refusal) are there, with the path scrubbed.
    assert "Not Found: /no-such-page/[number]/" in error_text
    assert "Forbidden (CSRF): /cases/[number]/step/x/" in error_text
    assert error_text.count("Not Found: /no-such-page/[number]") == 2  # escaped by Django too


def test_the_simulator_logs_no_long_number_over_http(tmp_path):
    """An outside simulator run as its own process: its log (standard error) holds no long
    number from a request's path, and still names the request."""
    log = tmp_path / "sim.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "madoguchi.outside.sim", "serve", "bank", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base = line.split("listening on ")[1].split()[0]
        from madoguchi.outside.transport import shared_ssl_context

        with httpx.Client(verify=shared_ssl_context(), timeout=30) as client:
            client.get(
                f"{base}/v1/accounts/123456789012",
                params={"n": _FULL_WIDTH},
                headers={"Referer": "http://x/123456789012"},
            )
            client.post(f"{base}/v1/accounts/1234-5678-9012/verify", json={"n": "123456789012"})
    finally:
        process.terminate()
        process.wait(timeout=10)
    text = log.read_text("utf-8")
    assert "/v1/accounts/[number]" in text
    assert not _runs(text)


def test_the_agent_and_simulator_commands_scrub_their_logs(monkeypatch):
    """`madoguchi agent` and `madoguchi sim serve` set up logging with the filter on every
    handler: a line they log is scrubbed whatever its source."""
    from madoguchi.agent import cli as agent_cli
    from madoguchi.outside.sim import cli as sim_cli

    root = logging.getLogger()
    for module in (agent_cli, sim_cli):
        handler = logging.StreamHandler()
        monkeypatch.setattr(root, "handlers", [handler])
        if module is agent_cli:
            monkeypatch.setattr(agent_cli, "run", _stop)
        else:
            monkeypatch.setattr("madoguchi.outside.sim.runner.make_server", _stop)
        with contextlib.suppress(_Stopped):
            module.main(
                ["--server", "http://127.0.0.1:9"] if module is agent_cli else ["serve", "bank"]
            )
        assert any(isinstance(f, logsafe.Scrubbed) for f in handler.filters), module


class _Stopped(Exception):
    pass


def _stop(*args, **kwargs):
    raise _Stopped
