"""The server side of `madoguchi bench completion`, active only with ``MADOGUCHI_BENCH=1``.

- ``POST /bench/floor``: a bare Django view that inserts one row (the floor the completion path
  is compared with, served by the same gunicorn settings, middleware and database settings).
- ``GET /bench/stats``: this worker process's counters (SQL statements per request bucket,
  audit-lock acquisitions) and its pid; the benchmark polls until it has seen every worker.

Requests are counted in buckets by path: ``desk`` (the desk page and its API), ``agent`` (the
card agent's events), ``floor`` and ``other``.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from madoguchi.audit import append_function

FLOOR_TABLE = "bench_floor"
_bucket: contextvars.ContextVar[str] = contextvars.ContextVar("bench_bucket", default="other")
_lock = threading.Lock()
_counts: Counter[str] = Counter()


def _bucket_of(path: str) -> str:
    if path.startswith("/api/v1/agent/"):
        return "agent"
    if path.startswith("/bench/"):
        return "floor"
    if path.startswith(("/api/v1/visits/", "/desk/")):
        return "desk"
    return "other"


_locks_by_tx: Counter[int] = Counter()


def _count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    bucket = _bucket.get()
    with _lock:
        _counts[f"statements.{bucket}"] += 1
    result = execute(sql, params, many, context)
    # The head lock: taken by the append function (one statement, issue 15) or directly.
    if append_function.NAME in sql or "pg_advisory_xact_lock" in sql:
        # Which transaction took it (a raw cursor of the same connection: not counted as one of
        # the app's statements, and the app's cursor keeps its results, e.g. the head read).
        with context["cursor"].cursor.connection.cursor() as raw:
            raw.execute("SELECT txid_current()")
            txid = int(raw.fetchone()[0])
        with _lock:
            _counts[f"audit_locks.{bucket}"] += 1
            _locks_by_tx[txid] += 1
    return result


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="madoguchi.bench.count")


class BucketMiddleware:
    """Tags the request's SQL with its bucket (first in the middleware list)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bucket = _bucket_of(request.path)
        token = _bucket.set(bucket)
        try:
            with _lock:
                _counts[f"requests.{bucket}"] += 1
            return self.get_response(request)
        finally:
            _bucket.reset(token)


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (CURRENT_TIMESTAMP)")  # noqa: S608
    return HttpResponse("ok", content_type="text/plain")


def stats(request: HttpRequest) -> JsonResponse:
    with _lock:
        if request.GET.get("reset"):
            _locks_by_tx.clear()
        counts = dict(_counts)
        counts["audit_lock_transactions"] = len(_locks_by_tx)
        counts["audit_locks_max_per_transaction"] = max(_locks_by_tx.values(), default=0)
    return JsonResponse({"pid": os.getpid(), "counts": counts})
