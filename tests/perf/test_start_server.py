"""`bench.start_server` holds its port from the moment it is called: the port was found free,
then bound by gunicorn seconds later, and another process could take it in between."""

import socket
import subprocess

import httpx

from madoguchi.core.bench import completion as bench


def test_the_servers_port_cannot_be_taken_while_gunicorn_starts(tmp_path, monkeypatch):
    port = bench._free_port()
    taken: list[socket.socket] = []
    popen = subprocess.Popen

    def start_then_race(*args, **kwargs):
        process = popen(*args, **kwargs)
        # Another process tries for the port while the server is still importing Django.
        intruder = socket.socket()
        try:
            intruder.bind(("127.0.0.1", port))
            intruder.listen()
            taken.append(intruder)  # kept open: the port is lost to the server
        except OSError:
            intruder.close()
        return process

    monkeypatch.setattr(bench.subprocess, "Popen", start_then_race)
    env = {"WEB_CONCURRENCY": "1", "MADOGUCHI_THREADS": "2", "SWEEP_INTERVAL_SECONDS": "3600"}
    # An empty database (serve refuses one unless told to skip its checks): only the port is
    # at stake here, and /healthz reads no table.
    server = bench.start_server(
        f"sqlite:///{tmp_path}/db.sqlite3", port, tmp_path, env, args=("--skip-checks",)
    )
    try:
        assert not taken, "another process took the server's port"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).text == "ok"
    finally:
        server.terminate()
        server.wait(30)
        for sock in taken:
            sock.close()
