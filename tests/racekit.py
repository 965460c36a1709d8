"""Two (or more) requests at the same moment, for the races a lock must serialise.

`at_once(module, name, *calls)` runs each call in a thread of its own while `module.name` (the
step after the check, the one a lock must keep apart) waits until every call has reached it.
Without a lock they all pass the check together; with one, the later calls wait for the lock
while the first waits here, so this wait ends at its timeout and the first goes on alone."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any
from unittest import mock

from django.db import connection


def at_once(module: Any, name: str, *calls: Callable[[], Any], timeout: float = 3) -> list[Any]:
    """Each call's result (or the exception it raised), in the calls' order."""
    reached = threading.Barrier(len(calls), timeout=timeout)
    real = getattr(module, name)

    def held(*args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            reached.wait()
        return real(*args, **kwargs)

    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except Exception as exc:  # the test reads it
            results[i] = exc
        finally:
            connection.close()

    with mock.patch.object(module, name, held):
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results
