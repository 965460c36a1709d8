"""Databases left behind by test runs and benches that were killed (shared by both).

Each test process makes its own database, named after its process id (``test_<NAME>_<pid>``,
with pytest-xdist's ``_gw<n>`` after it for a worker), and so does each bench
(``madoguchi_bench_<pid>``); each drops it at its end. A run killed with ``kill -9`` (or a
machine that stopped) cannot: its database stays on the server until someone drops it. A test
run (tests/leftovers.py) and `madoguchi bench completion` / `bench audit` drop, at their start,
the databases of runs whose process is no longer alive, and leave those of live runs alone
(several engineers' runs share one server). Process ids are only meaningful on this machine:
on a server that is not on loopback (or a Unix socket) nothing is dropped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

# test_<anything>_<pid>[_gw<n>] and madoguchi_bench_<pid>: the names this project gives.
_NAME = re.compile(r"^(?:test_.+|madoguchi_bench)_(?P<pid>[1-9][0-9]{0,9})(?:_gw[0-9]+)?$")
_LOCAL_HOSTS = frozenset({"", "localhost", "127.0.0.1", "::1"})


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (whoever owns it)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def leftover_pid(name: str) -> int | None:
    """The process id in a database name this project's test runs (or benches) give, or None
    when the name is not one of theirs."""
    match = _NAME.match(name)
    return int(match["pid"]) if match else None


def dead_run_databases(
    names: list[str], alive: Callable[[int], bool] = pid_alive, prefix: str = ""
) -> list[str]:
    """The names among ``names`` (those starting with ``prefix``) that belong to test runs or
    benches whose process is gone."""
    own = os.getpid()
    dead = []
    for name in names:
        pid = leftover_pid(name) if name.startswith(prefix) else None
        if pid is not None and pid != own and not alive(pid):
            dead.append(name)
    return dead


def _local(host: str | None) -> bool:
    return (host or "") in _LOCAL_HOSTS or (host or "").startswith("/")


def drop_postgres_leftovers(settings_dict: dict[str, Any], prefix: str = "") -> list[str]:
    """Drop the PostgreSQL databases of dead test runs (those whose names start with
    ``prefix``) on the server of ``settings_dict``; return their names. Connects to the maintenance database ``postgres``; a server that does
    not answer, or a role that may not list or drop, leaves everything as it is."""
    # psycopg only on PostgreSQL (SQLite runs have nothing to drop).
    import psycopg
    from psycopg import sql

    if not _local(settings_dict.get("HOST")):
        return []
    params: dict[str, Any] = {
        "dbname": "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
        "connect_timeout": 10,
    }
    dropped: list[str] = []
    try:
        with psycopg.connect(
            **{k: v for k, v in params.items() if v is not None}, autocommit=True
        ) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY datname"
                )
            ]
            for name in dead_run_databases(names, prefix=prefix):
                try:
                    # FORCE: a server the dead run started (and that outlived it) may still be
                    # connected; its run is gone, so are its clients' reasons to stay.
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                except psycopg.Error:
                    continue  # another run dropped it first, or this role may not
                dropped.append(name)
    except psycopg.Error:
        return dropped
    return dropped
