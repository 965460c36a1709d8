"""Databases left behind by test runs that were killed.

Each test process makes its own database, named after its process id (src/madoguchi/settings.py:
``test_<NAME>_<pid>`` on PostgreSQL, with pytest-xdist's ``_gw<n>`` after it for a worker;
``<NAME>.test-<pid>`` beside the SQLite file), and drops it at its end. A run killed with
``kill -9`` (or a machine that stopped) cannot: its database stays on the server, with its
copies of the seed, until someone drops it. So at its start a test run drops the databases of
runs whose process is no longer alive, and leaves those of live runs alone (several engineers'
runs share one server). The benchmark's own database (``madoguchi_bench_<pid>``, which the
tests' bench runs make) is treated the same way, and so is the throwaway PostgreSQL server a
fault test starts (tests/faults/throwaway_pg.py), which outlives a killed run, still running.

Process ids are only meaningful on this machine: on a server that is not on loopback (or a
Unix socket) nothing is dropped. The databases' part is `madoguchi.core.leftovers`, which the
benches use too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from madoguchi.core.leftovers import (  # the databases' part, shared with the benches
    dead_run_databases,
    drop_postgres_leftovers,
    leftover_pid,
    pid_alive,
)

__all__ = [
    "dead_run_databases",
    "drop_leftovers",
    "drop_postgres_leftovers",
    "drop_sqlite_leftovers",
    "leftover_pid",
    "pid_alive",
    "stop_dead_fault_servers",
]

_SQLITE_SUFFIX = re.compile(
    r"\.test-(?P<pid>[1-9][0-9]{0,9})(?:_gw[0-9]+)?(?:-wal|-shm|-journal)?$"
)


def drop_sqlite_leftovers(database: Path) -> list[Path]:
    """Delete the SQLite test files of dead runs beside ``database`` (``<name>.test-<pid>``
    and its -wal/-shm/-journal files); return them."""
    folder = database.parent
    if not folder.is_dir():
        return []
    own = os.getpid()
    removed = []
    prefix = database.name
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(prefix):
            continue
        match = _SQLITE_SUFFIX.fullmatch(path.name[len(prefix) :])
        if not match:
            continue
        pid = int(match["pid"])
        if pid == own or pid_alive(pid):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    return removed


def _postmaster(data: Path) -> int | None:
    """The id of the PostgreSQL server running on ``data``, checked against the process's
    command line (a server that died leaves postmaster.pid, and its id may be another
    process's by now)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if any(b"postgres" in part for part in cmdline) and str(data).encode() in cmdline:
        return pid
    return None


def stop_dead_fault_servers(folder: Path | None = None) -> list[Path]:
    """The throwaway PostgreSQL servers of the fault tests (tests/faults/throwaway_pg.py) whose
    test process is gone: each is stopped (SIGQUIT, PostgreSQL's immediate shutdown, then
    SIGKILL) and its folder deleted; return the folders. A folder without its owner's id (made
    by older code, or being made right now) is left alone."""
    from tests.faults.throwaway_pg import FAULTS_PG_PREFIX, OWNER_FILE

    folder = folder or Path(tempfile.gettempdir())
    removed = []
    for path in sorted(folder.glob(f"{FAULTS_PG_PREFIX}*")):
        try:
            owner = int((path / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or pid_alive(owner):
            continue
        server = _postmaster(path / "data")
        if server is not None:
            _stop(server)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _stop(pid: int, wait: float = 20.0) -> None:
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid) or _zombie(pid):
                return
            time.sleep(0.1)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def drop_leftovers(settings_dict: dict[str, Any]) -> list[str]:
    """The leftovers of dead test runs, dropped: the configured database's, and the fault
    tests' throwaway servers; their names."""
    dropped = [str(p) for p in stop_dead_fault_servers()]
    engine = settings_dict.get("ENGINE", "")
    if engine.endswith("postgresql"):
        dropped += drop_postgres_leftovers(settings_dict)
    elif engine.endswith("sqlite3") and settings_dict.get("NAME"):
        dropped += [str(p) for p in drop_sqlite_leftovers(Path(settings_dict["NAME"]))]
    return dropped
