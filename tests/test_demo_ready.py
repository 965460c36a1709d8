"""`make demo` prints its banner only once every process answers HTTP."""

import io
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from madoguchi.core.management.commands.demo import Command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_waits_until_the_late_server_answers():
    port = _free_port()
    servers = []

    def late() -> None:
        time.sleep(1.0)
        server = ThreadingHTTPServer(("127.0.0.1", port), _Quiet)
        servers.append(server)
        server.serve_forever()

    threading.Thread(target=late, daemon=True).start()
    child = subprocess.Popen(["sleep", "30"])
    try:
        started = time.monotonic()
        ready = Command(stdout=io.StringIO())._wait_ready(
            {"server": f"http://127.0.0.1:{port}/"}, {"server": child}
        )
        assert ready
        assert time.monotonic() - started >= 1.0
    finally:
        child.kill()
        child.wait()
        for s in servers:
            s.shutdown()


def test_a_process_that_exits_means_no_banner():
    child = subprocess.Popen(["true"])
    child.wait()
    port = _free_port()
    assert not Command(stdout=io.StringIO())._wait_ready(
        {"server": f"http://127.0.0.1:{port}/"}, {"server": child}
    )
