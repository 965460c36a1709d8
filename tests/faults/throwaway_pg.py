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
from pathlib import Path


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
        self.port = _free_port()
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as
        # the postgres user when we are root.
        self.dir = Path(tempfile.mkdtemp(prefix="madoguchi-faults-pg-"))
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
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
            "-w", "-t", "60", "-o", options, "start", timeout=90,
        )  # fmt: skip

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
