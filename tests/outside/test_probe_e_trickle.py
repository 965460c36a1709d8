"""Probe E (side doors round 22, issue 15): an outside system that answers slowly, a byte at a
time. The read timeout bounds each read only, so a body trickled a byte every 0.2 s never times
out with `read_timeout=0.5`: the call waits as long as the other side likes. docs/outside.md
promises that timeouts are always set and that a call has a whole retry budget the worker's
lease is longer than; a desk's look-up (provider, bank, insurer) holds its server thread, and
the outbox worker, which sends one call at a time, holds every other call, for as long as the
answer trickles."""

from __future__ import annotations

import socket
import threading
import time

from madoguchi.outside import ClientConfig, OutsideTimeout, System
from madoguchi.outside.transport import JsonClient

CONFIG = ClientConfig(connect_timeout=0.5, read_timeout=0.5, attempts=1)
TRICKLE_SECONDS = 20  # how long the body would take to arrive in full


def _trickling_server(stop: threading.Event) -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    body = b'{"registrations": []}' + b" " * 200

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.recv(65536)
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    )
                    step = TRICKLE_SECONDS / len(body)
                    for i in range(len(body)):
                        if stop.wait(step):
                            return
                        try:
                            conn.sendall(body[i : i + 1])
                        except OSError:
                            break

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def test_an_answer_trickled_slowly_is_cut_at_a_bounded_time() -> None:
    stop = threading.Event()
    port = _trickling_server(stop)
    client = JsonClient(f"http://127.0.0.1:{port}", system=System.INSURER, config=CONFIG)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(client.get("/v1/registrations"))
        except Exception as exc:
            outcome.append(exc)

    started = time.monotonic()
    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    try:
        # One attempt, a connect and a read timeout of 0.5 s each: a few seconds at most.
        caller.join(5)
        waited = time.monotonic() - started
        assert not caller.is_alive(), f"still waiting for the answer after {waited:.1f} s"
        assert len(outcome) == 1, outcome
        assert isinstance(outcome[0], OutsideTimeout), outcome
    finally:
        stop.set()
        caller.join(5)
        client.close()
