"""`serve --bind` / MADOGUCHI_BIND: `127.0.0.1:99999` reached gunicorn, whose OverflowError was
a traceback; `nonsense` (no port) was served on port 8000 without a word; `madoguchi check` said
nothing. An address is HOST:PORT (a port from 1 to 65535; IPv6 in brackets), unix:PATH or fd://N."""

import os
import re
import socket
import subprocess
import sys
from argparse import ArgumentTypeError
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from madoguchi.argtypes import bind_address
from madoguchi.core.checks import bind_address_usable
from madoguchi.core.management.commands import serve

GOOD = ["127.0.0.1:8000", "0.0.0.0:80", "localhost:65535", "desk.example.internal:1",
        "[::1]:8000", "[::]:8000", "unix:/run/madoguchi.sock", "fd://3"]  # fmt: skip
BAD = ["127.0.0.1:99999", "127.0.0.1:0", "nonsense", "127.0.0.1", "127.0.0.1:", ":8000",
       "::1:8000", "[::1]", "[not-v6]:8000", "[127.0.0.1]:8000", "127.0.0.1:+80",
       "127.0.0.1:８０", "host name:80", "unix:", "fd://", "fd://x", ""]  # fmt: skip


@pytest.mark.parametrize("text", GOOD)
def test_an_address_gunicorn_takes_is_taken_as_given(text):
    assert bind_address(text) == text


@pytest.mark.parametrize("text", BAD)
def test_an_address_out_of_range_or_without_a_port_is_refused_saying_the_form(text):
    with pytest.raises(ArgumentTypeError) as refused:
        bind_address(text)
    assert str(refused.value) == (
        "must be HOST:PORT, a port from 1 to 65535 (127.0.0.1:8000; an IPv6 address in "
        f"brackets, [::1]:8000), unix:PATH or fd://N, not {text!r}"
    )


def _argv(monkeypatch, *args):
    seen = {}
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: type("S", (), {"pid": 1})())
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    call_command("serve", *args)
    return seen["argv"]


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("--bind", "127.0.0.1:99999"), {}, "--bind: must be HOST:PORT"),
        ((), {"MADOGUCHI_BIND": "nonsense"}, "not 'nonsense' (when not given, MADOGUCHI_BIND"),
    ],
)
def test_serve_refuses_a_bad_address_naming_where_it_came_from(monkeypatch, args, env, said):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=re.escape(said)):
        _argv(monkeypatch, *args)


def test_serve_passes_a_good_address_and_an_empty_variable_is_unset(monkeypatch):
    monkeypatch.setenv("MADOGUCHI_BIND", "[::1]:8010")
    argv = _argv(monkeypatch)
    assert argv[argv.index("--bind") + 1] == "[::1]:8010"
    monkeypatch.setenv("MADOGUCHI_BIND", "")
    argv = _argv(monkeypatch)
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"


def test_madoguchi_check_names_a_bad_madoguchi_bind(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_BIND", raising=False)
    assert bind_address_usable() == []
    monkeypatch.setenv("MADOGUCHI_BIND", "127.0.0.1:8000")
    assert bind_address_usable() == []
    monkeypatch.setenv("MADOGUCHI_BIND", "127.0.0.1:99999")
    [error] = bind_address_usable()
    assert error.id == "madoguchi.E114"
    assert error.msg.startswith("MADOGUCHI_BIND must be HOST:PORT, a port from 1 to 65535")
    assert error.msg.endswith("not '127.0.0.1:99999': `madoguchi serve` would refuse to start.")
    with pytest.raises(SystemCheckError, match=r"madoguchi\.E114"):
        call_command("check")


def test_serve_at_the_shell_is_one_line_of_error_and_no_traceback(tmp_path):
    env = {**os.environ, "MADOGUCHI_BIND": "127.0.0.1:99999", "MADOGUCHI_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", "serve", "--skip-checks"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "madoguchi serve: error: argument --bind: must be HOST:PORT, a port from 1 to 65535 "
        "(127.0.0.1:8000; an IPv6 address in brackets, [::1]:8000), unix:PATH or fd://N, not "
        "'127.0.0.1:99999' (when not given, MADOGUCHI_BIND sets it)"
    )


def _started_by(pid: int) -> list[str]:
    """The command lines of processes running with `--parent-pid PID` (the sweeper `serve`
    started), read from /proc."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # ended while we looked
        if "--parent-pid" in words and str(pid) in words:
            lines.append(" ".join(words))
    return lines


@pytest.mark.parametrize("where", ["--bind", "MADOGUCHI_BIND"])
def test_serve_on_an_address_in_use_is_one_line_naming_how_to_pick_another(tmp_path, where):
    """gunicorn printed `[ERROR] Connection in use` ten times over five seconds, then exited 1,
    after `serve` had started its sweeper."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 18150))
        other.listen()
        env = {**os.environ, "MADOGUCHI_DATA_DIR": str(tmp_path)}
        args = [sys.executable, "-m", "madoguchi", "serve", "--skip-checks"]
        if where == "--bind":
            args += ["--bind", "127.0.0.1:18150"]
        else:
            env["MADOGUCHI_BIND"] = "127.0.0.1:18150"
        server = subprocess.Popen(
            args, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            out, err = server.communicate(timeout=60)
        finally:
            server.kill()
    assert server.returncode == 2, err
    assert err == (
        "The address 127.0.0.1:18150 is in use (another server, or a `madoguchi serve` already "
        "running): give another with --bind HOST:PORT or MADOGUCHI_BIND (such as "
        "127.0.0.1:8010). The server was not started.\n"
    )
    assert out == ""
    assert _started_by(server.pid) == []  # no sweeper left behind
