"""`madoguchi serve`'s gunicorn command line: idle connections outlive the clients' reuse."""

import pytest
from django.core.management import call_command

from madoguchi.core.bench import completion as bench
from madoguchi.core.management.commands import serve


def _argv(monkeypatch, *args):
    seen = {}
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: None)  # the sweeper
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    call_command("serve", *args)
    return seen["argv"]


def _keep_alive(argv):
    return int(argv[argv.index("--keep-alive") + 1])


def test_idle_connections_stay_open_longer_than_proxies_and_the_bench_reuse_them(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_KEEPALIVE_SECONDS", raising=False)
    keep_alive = _keep_alive(_argv(monkeypatch))
    # nginx's upstream keepalive_timeout and common load balancers' idle timeout: 60 s.
    assert keep_alive > 60
    assert keep_alive > bench.KEEPALIVE_EXPIRY


@pytest.mark.parametrize("args", [("--keep-alive", "5"), ()])
def test_keep_alive_can_be_set(monkeypatch, args):
    monkeypatch.setenv("MADOGUCHI_KEEPALIVE_SECONDS", "5")
    assert _keep_alive(_argv(monkeypatch, *args)) == 5


def test_threads_per_worker_default_to_eight_and_can_be_set(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_THREADS", raising=False)
    argv = _argv(monkeypatch)
    assert argv[argv.index("--threads") + 1] == "8"
    monkeypatch.setenv("MADOGUCHI_THREADS", "2")
    argv = _argv(monkeypatch)
    assert argv[argv.index("--threads") + 1] == "2"
