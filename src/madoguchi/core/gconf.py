"""gunicorn's configuration module for `madoguchi serve` (`--config python:madoguchi.core.gconf`).

Ctrl-C in the server's terminal sends SIGINT to gunicorn's master and its workers. gunicorn
takes it as "quick shutdown": the master sends SIGQUIT and workers exit at once, dropping the
requests they are answering (a completion being committed, a PDF being written). Here the
master takes SIGINT as it takes SIGTERM, a graceful stop: it stops listening, workers answer
the requests in flight and end (`madoguchi.core.gworker.Worker` closes the connections that
carry none at once), within gunicorn's graceful timeout. SIGQUIT still stops at once.

The master stops `madoguchi serve`'s sweeper as it exits (`on_exit`) and waits for it, so the
server's process ends after its sweeper: `make demo` said "every process it started has
ended" while the sweeper, which followed its parent only by looking every half second, still
ran.

Each worker freezes the objects alive once it has loaded the application (`post_worker_init`,
`gc.freeze()`): Django's, the libraries' and madoguchi's modules, classes and settings, which
live as long as the worker. The garbage collector's full passes then no longer walk them: a
pass over the ~130,000 objects a loaded worker holds took a tenth of a second or more of the
request that triggered it, about every 30 visits (docs/performance.md, seventeenth round).
Once it has answered its first `FREEZE_AGAIN_AFTER` requests it collects once and freezes
again (`post_request`): what those requests loaded for good (translation catalogues, compiled
templates, URL and SQL caches) leaves the full passes too (eighteenth round).
"""

from __future__ import annotations

import gc
import itertools
import os
import signal
import time
from typing import Any

# The environment variable (`serve` sets it with gunicorn's --env) naming the sweeper's pid.
SWEEPER_PID = "MADOGUCHI_SWEEPER_PID"
# A worker's requests after which it freezes again what is alive (the first requests load
# caches that live as long as the worker), and the count of its requests so far (one counter
# per worker process; `next` on it is atomic under the GIL, so each number is seen once).
FREEZE_AGAIN_AFTER = 200
_requests = itertools.count(1)
# How long the master waits for the sweeper to finish the sweep it is in before killing it.
SWEEPER_STOP_SECONDS = 10.0


def on_starting(server: Any) -> None:
    """gunicorn's hook, with its arbiter: SIGINT is handled as SIGTERM."""
    server.handle_int = server.handle_term


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook, in each worker once the application is loaded: what is alive now lives
    as long as the worker, so the garbage collector's passes stop walking it."""
    gc.freeze()


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gunicorn's hook, in the worker's thread after each answer: after the worker's first
    FREEZE_AGAIN_AFTER requests, the garbage is collected (what is frozen is never collected)
    and what is alive then is frozen as well."""
    if next(_requests) == FREEZE_AGAIN_AFTER:
        gc.collect()
        gc.freeze()


def on_exit(server: Any) -> None:
    """gunicorn's hook, as the master exits: stop the sweeper and wait for it."""
    stop_sweeper(os.environ.get(SWEEPER_PID, ""))


def _running_child(pid: int) -> bool:
    """Whether `pid` is a child of this process still running (a pid that is not this process's
    child, such as one reused after the sweeper ended and was reaped, is never signalled)."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def stop_sweeper(raw_pid: str, timeout: float = SWEEPER_STOP_SECONDS) -> None:
    """Ask the sweeper to stop (SIGTERM: it ends after the sweep it is in) and wait for it;
    killed if it has not ended within `timeout`."""
    try:
        pid = int(raw_pid)
    except ValueError:
        return
    if pid <= 0 or not _running_child(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _running_child(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(0.05)
