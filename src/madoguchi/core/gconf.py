"""gunicorn's configuration module for `madoguchi serve` (`--config python:madoguchi.core.gconf`).

Ctrl-C in the server's terminal sends SIGINT to gunicorn's master and its workers. gunicorn
takes it as "quick shutdown": the master sends SIGQUIT and workers exit at once, dropping the
requests they are answering (a completion being committed, a PDF being written). Here the
master takes SIGINT as it takes SIGTERM, a graceful stop: it stops listening, workers answer
the requests in flight and end (`madoguchi.core.gworker.Worker` closes the connections that
carry none at once), within gunicorn's graceful timeout. SIGQUIT still stops at once.
"""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    """gunicorn's hook, with its arbiter: SIGINT is handled as SIGTERM."""
    server.handle_int = server.handle_term
