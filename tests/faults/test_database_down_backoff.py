"""With the database down, the loops beside `madoguchi serve` say so in one line a try and wait
longer each time: `madoguchi outside worker` printed an 80-line traceback every second, and the
sweeper one every round, where the README says "a database that does not answer is one line too
(`madoguchi: database error: …`)"."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.db import OperationalError

from madoguchi.benefits.services import outbox
from madoguchi.cli import Backoff
from madoguchi.core.management.commands import sweep as command
from madoguchi.desk.sweep import SweepResult

DOWN = 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'


def test_backoff_doubles_to_its_cap_and_starts_again_after_a_success():
    backoff = Backoff(1, 60)
    assert [backoff.failed() for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    backoff.succeeded()
    assert backoff.failed() == 1
    # The sweeper's interval (30 s by default) is its first wait; a wait never shrinks below it.
    sweeper = Backoff(30, 60)
    assert [sweeper.failed() for _ in range(3)] == [30, 60, 60]
    longer = Backoff(120, 60)
    assert [longer.failed() for _ in range(2)] == [120, 120]


def test_the_outbox_worker_logs_one_line_a_failure_and_waits_longer(monkeypatch, caplog):
    answers = iter(["down"] * 4 + ["up"] + ["down"])
    waits: list[float] = []
    stop = threading.Event()

    def drain():
        if next(answers) == "down":
            raise OperationalError(f"{DOWN}\n\tIs the server running on that host?")
        return outbox.DrainResult()

    def wait(seconds):
        waits.append(seconds)
        if len(waits) == 6:
            stop.set()

    monkeypatch.setattr(outbox, "drain", drain)
    monkeypatch.setattr(outbox, "close_old_connections", lambda: None)
    monkeypatch.setattr(stop, "wait", wait)
    with caplog.at_level(logging.INFO, logger="madoguchi.outside.worker"):
        outbox.run(every=1.0, stop=stop)
    # Four failures (1, 2, 4, 8 s), a drain with nothing to do (the usual 1 s), a failure again
    # from the first wait.
    assert waits == [1, 2, 4, 8, 1, 1]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"outbox worker: database error: {DOWN}; retrying in {n} s" for n in (1, 2, 4, 8, 1)
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_the_sweeper_logs_one_line_a_failure_and_waits_longer(monkeypatch, caplog):
    answers = iter(["down"] * 3 + ["up", "down"])
    waits: list[float] = []

    def sweep():
        if next(answers) == "down":
            raise OperationalError(DOWN)
        return SweepResult(ended=0, purged=0)

    def wait(seconds, parent_pid):
        waits.append(seconds)
        return len(waits) < 5

    monkeypatch.setattr(command, "sweep", sweep)
    monkeypatch.setattr(command, "close_old_connections", lambda: None)
    monkeypatch.setattr(command, "_wait", wait)
    with caplog.at_level(logging.INFO, logger="madoguchi.sweep"):
        call_command("sweep", every=1)
    assert waits == [1, 2, 4, 1, 1]
    assert [r.getMessage() for r in caplog.records] == [
        f"sweep: database error: {DOWN}; retrying in {n} s" for n in (1, 2, 4, 1)
    ]
    assert not any(r.exc_info for r in caplog.records)


@pytest.fixture
def closed_port():
    """A loopback port bound and not listening: a connection to it is refused at once."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "who"),
    [(("outside", "worker"), "outbox worker"), (("sweep", "--every", "1"), "sweep")],
    ids=["outside-worker", "sweep"],
)
def test_with_no_database_each_loop_says_so_in_one_line_a_try(tmp_path, closed_port, args, who):
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/madoguchi",
        "MADOGUCHI_DATA_DIR": str(tmp_path),
    }
    loop = subprocess.Popen(
        [sys.executable, "-m", "madoguchi", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(loop.stderr), daemon=True)
    reader.start()
    try:
        # Tries at about 0, 1 and 3 s after it starts: three lines, then it is stopped.
        deadline = time.monotonic() + 60
        while len(lines) < 3 and loop.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        loop.send_signal(signal.SIGINT)
        try:
            loop.wait(timeout=30)
        except subprocess.TimeoutExpired:
            loop.kill()
            loop.wait()
        reader.join(timeout=10)
    said = "".join(lines)
    assert "Traceback" not in said, said[-2000:]
    pattern = re.compile(rf"{who}: database error: connection failed: .*; retrying in (\d+) s")
    found = [pattern.fullmatch(line.rstrip("\n")) for line in lines]
    assert all(found), lines
    assert [int(m[1]) for m in found if m][:3] == [1, 2, 4]
