"""`madoguchi serve` stops as soon as the requests in flight are answered (docs/performance.md
"Stopping the server"): a stopping worker closes the connections that carry no request instead
of waiting on them (a new one whose client sent nothing held its thread 5 s; one parked to wait
for its first bytes was kept until the 30 s graceful timeout), and Ctrl-C stops gracefully, as
SIGTERM does, instead of dropping the requests being answered."""

from __future__ import annotations

import selectors
import socket
import sys
from collections import deque

import pytest
from gunicorn.workers import gthread

from madoguchi.core import gconf
from madoguchi.core.gworker import Worker
from tests.test_serve import _argv as _serve_argv


class _Conn(gthread.TConn):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__(None, sock, ("127.0.0.1", 1), ("127.0.0.1", 2))


def _worker(alive: bool) -> Worker:
    worker = Worker.__new__(Worker)  # no gunicorn configuration: only what these use
    worker.alive = alive
    worker.pending_conns = deque()
    worker.poller = selectors.DefaultSelector()
    worker.nr_conns = 0
    return worker


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def test_a_stopping_worker_closes_a_new_connection_that_sent_nothing(pair):
    server, _client = pair
    conn = _Conn(server)
    assert _worker(alive=False).handle(conn) is False  # closed, not parked for later
    assert not conn.data_ready


def test_a_new_connection_whose_request_has_come_is_answered_even_when_stopping(pair):
    server, client = pair
    client.sendall(b"GET /healthz HTTP/1.1\r\n")
    conn = _Conn(server)
    worker = _worker(alive=False)
    assert worker.first_bytes(conn) is True
    assert conn.data_ready


def test_a_running_worker_still_waits_for_a_new_connections_first_bytes(pair, monkeypatch):
    server, _client = pair
    monkeypatch.setattr(gthread, "DEFAULT_WORKER_DATA_TIMEOUT", 0.01)
    conn = _Conn(server)
    assert _worker(alive=True).handle(conn) is gthread._DEFER  # parked, as gthread does


def test_a_stopping_worker_closes_connections_parked_for_their_first_bytes(pair):
    server, client = pair
    worker = _worker(alive=False)
    conn = _Conn(server)
    conn.timeout = float("inf")  # their wait for bytes has not run out
    worker.pending_conns.append(conn)
    worker.poller.register(server, selectors.EVENT_READ)
    worker.nr_conns = 1
    worker.murder_pending()
    assert not worker.pending_conns
    assert worker.nr_conns == 0
    assert client.recv(1) == b""  # the server's end is closed


def test_a_running_worker_keeps_connections_parked_for_their_first_bytes(pair):
    server, _client = pair
    worker = _worker(alive=True)
    conn = _Conn(server)
    conn.timeout = float("inf")
    worker.pending_conns.append(conn)
    worker.nr_conns = 1
    worker.murder_pending()
    assert list(worker.pending_conns) == [conn]


def test_ctrl_c_stops_the_master_gracefully_as_sigterm_does():
    class Arbiter:
        def handle_term(self):
            raise StopIteration

        def handle_int(self):  # gunicorn's: a quick stop, workers dropping their requests
            raise AssertionError("quick shutdown")

    arbiter = Arbiter()
    gconf.on_starting(arbiter)
    with pytest.raises(StopIteration):
        arbiter.handle_int()


def test_serve_runs_gunicorn_with_the_graceful_ctrl_c(monkeypatch):
    argv = _serve_argv(monkeypatch)
    assert argv[argv.index("--config") + 1] == "python:madoguchi.core.gconf"
    assert argv[:3] == [sys.executable, "-m", "gunicorn"]
