"""A throwaway PostgreSQL server for fault tests, started from the installed binaries.

As `scripts/postgres.sh` starts one (initdb with trust authentication, run as the postgres user
when we are root), but in a fresh directory, on a free port, with its socket in that directory:
a test may crash and restart it at will. The shared server on 5432 is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

FAULTS_PG_PREFIX = "madoguchi-faults-pg-"
OWNER_FILE = "owner.pid"


def binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = 0  # chosen by the first `start`, kept for the restarts
        self.bind_wait = 60.0  # seconds a restart waits for its port to be free again
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as
        # the postgres user when we are root.
        self.dir = Path(tempfile.mkdtemp(prefix=FAULTS_PG_PREFIX))
        # Whose server this is: a run killed before `remove` leaves it running, and the next
        # test run stops it and deletes the folder once this process is gone (tests/leftovers.py).
        (self.dir / OWNER_FILE).write_text(f"{os.getpid()}\n")
        self.data = self.dir / "data"
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            self.run_as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres")

    def _run(self, *argv: str, timeout: float = 60) -> None:
        subprocess.run([*self.run_as, *argv], check=True, capture_output=True, timeout=timeout)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def init(self) -> None:
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it accepts connections.

        The first start takes a free port just before the server binds it (not before initdb,
        which takes seconds on a loaded machine: the port was free when chosen, not when bound)
        and takes another if the port was taken meanwhile. A restart keeps its port (the server
        and the outbox worker know it) and tries again while a short-lived socket holds it. A
        failure says why: pg_ctl's output and the end of the server's log."""
        first = not self.port
        deadline = time.monotonic() + self.bind_wait
        while True:
            if first:
                self.port = _free_port()
            seen = self._log_size()
            try:
                self._pg_ctl_start()
                return
            except subprocess.CalledProcessError as exc:
                log = self._log_since(seen)
                if "could not bind" not in log or time.monotonic() > deadline:
                    raise AssertionError(
                        f"PostgreSQL did not start on port {self.port}: "
                        f"{exc.stdout!r} {exc.stderr!r}\n{log}"
                    ) from exc
                time.sleep(0 if first else 1)

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
            "-w", "-t", "120", "-o", options, "start", timeout=150,
        )  # fmt: skip

    def _log_size(self) -> int:
        try:
            return (self.dir / "log").stat().st_size
        except OSError:
            return 0

    def _log_since(self, offset: int, lines: int = 30) -> str:
        """The last `lines` lines the server logged after `offset` (this start's)."""
        try:
            with (self.dir / "log").open("rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
            "stop", timeout=90,
        )  # fmt: skip

    def crash_and_restart(self) -> None:
        """Stop as a crash does (no checkpoint; recovery replays the WAL), then start again."""
        self.stop("immediate")
        self.start()

    def remove(self) -> None:
        """Stop (if running) and delete everything."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def createdb_from(self, source_url: str, name: str) -> None:
        """A database on this server with the schema and rows of `source_url`'s database."""
        subprocess.run(
            [str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "postgres", name],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        dump = subprocess.run(
            [str(self.bindir / "pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [str(self.bindir / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(name)],
            input=dump.stdout, check=True, capture_output=True, timeout=120,
        )  # fmt: skip


@contextlib.contextmanager
def started() -> Iterator[ThrowawayPostgres]:
    """A fresh server, started; stopped and deleted afterwards. Inside pytest, skips the test
    when no PostgreSQL binaries are installed."""
    bindir = binaries()
    if bindir is None:
        import pytest

        pytest.skip("no PostgreSQL binaries installed")
    pg = ThrowawayPostgres(bindir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()
