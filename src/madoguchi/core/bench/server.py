"""The server side of `madoguchi bench completion`, active only with ``MADOGUCHI_BENCH=1``.

- ``POST /bench/floor``: a bare Django view that inserts one row (the floor the completion path
  is compared with, served by the same gunicorn settings, middleware and database settings).
- ``GET /bench/stats``: this worker process's counters (SQL statements per request bucket,
  audit-lock acquisitions, each visit endpoint's requests, thread CPU and time inside Django)
  and its pid; the benchmark polls until it has seen every worker.
- Every response carries ``Server-Timing`` (issue 15, seventh round): ``queue`` (from the
  client's ``X-Bench-Sent``, its clock's epoch seconds just before sending, to the request
  reaching Django: the connection's wait for a worker thread, the thread's wait for the CPU and
  the GIL, gunicorn's parsing), ``app`` (inside Django, wall), ``cpu`` (the request thread's
  CPU inside Django) and ``db`` (wall time in the cursor's ``execute``: round trips, the
  statements' own time and the GIL reacquired after them; the audit append at commit is not
  counted here) and ``commit`` (wall time in the connection's ``commit``: the audit append,
  with its wait for the log's head lock, and the COMMIT).

Requests are counted in buckets by path: ``desk`` (the desk page and its API), ``agent`` (the
card agent's events), ``floor`` and ``other``.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from madoguchi.audit import append_function
from madoguchi.core import gworker

FLOOR_TABLE = "bench_floor"
_bucket: contextvars.ContextVar[str] = contextvars.ContextVar("bench_bucket", default="other")
# Wall seconds spent in the cursor's execute by the current request: [total, the slowest
# statement's, its label].
_db_wall: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "bench_db_wall", default=None
)
_in_commit: contextvars.ContextVar[bool] = contextvars.ContextVar("bench_in_commit", default=False)
# Wall seconds spent in the connection's commit: the audit append (a statement sent at commit,
# not counted in `_db_wall`) and the COMMIT.
_commit_wall: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "bench_commit_wall", default=None
)
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


# Audit-lock acquisitions per transaction: the connection counts them until its transaction ends
# (commit or rollback, wrapped below); then the count is kept here. Counted in the process, not
# asked of the database: `txid_current()` before every append was a round trip of its own (nine
# a visit) that only the bench added to the server's CPU (issue 15, tenth round).
_lock_transactions = [0, 0]  # transactions that took the lock, the most one took


def _locks_done(connection: Any) -> None:
    """The connection's transaction ended: keep how many times it took the lock."""
    taken = getattr(connection, "_bench_locks", 0)
    if taken:
        connection._bench_locks = 0
        with _lock:
            _lock_transactions[0] += 1
            _lock_transactions[1] = max(_lock_transactions[1], taken)


def _count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
    bucket = _bucket.get()
    with _lock:
        _counts[f"statements.{bucket}"] += 1
    # The head lock: taken by the append function (one statement, issue 15) or directly.
    if append_function.NAME in sql or "pg_advisory_xact_lock" in sql:
        db = context["connection"]
        db._bench_locks = getattr(db, "_bench_locks", 0) + 1
        with _lock:
            _counts[f"audit_locks.{bucket}"] += 1
        if db.get_autocommit():  # a statement of its own is a transaction of its own
            _locks_done(db)
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        spent = _db_wall.get()
        if spent is not None and not _in_commit.get():  # the append at commit is commit's
            took = time.perf_counter() - started
            spent[0] += took
            if took > spent[1]:  # the request's slowest statement (labelled once, at the end)
                spent[1], spent[2] = took, sql


def _label(sql: str) -> str:
    """A statement's kind and first table, e.g. ``UPDATE desk_visit`` (for Server-Timing)."""
    words = sql.replace('"', "").split()
    upper = [w.upper() for w in words]
    verb = upper[0] if upper else "?"
    keyword = {"UPDATE": "UPDATE", "INSERT": "INTO"}.get(verb, "FROM")  # the table it writes
    if keyword in upper and upper.index(keyword) + 1 < len(words):
        return f"{verb} {words[upper.index(keyword) + 1].strip('(,')}"[:60]
    return verb[:60]


def _timed_commit(commit: Callable[[], None], connection: Any) -> Callable[[], None]:
    def timed() -> None:
        started = time.perf_counter()
        inside = _in_commit.set(True)
        try:
            commit()
        finally:
            _in_commit.reset(inside)
            _locks_done(connection)
            spent = _commit_wall.get()
            if spent is not None:
                spent[0] += time.perf_counter() - started

    timed.__wrapped__ = commit  # type: ignore[attr-defined]
    return timed


def _counted_rollback(rollback: Callable[[], None], connection: Any) -> Callable[[], None]:
    def counted() -> None:
        try:
            rollback()
        finally:
            _locks_done(connection)

    counted.__wrapped__ = rollback  # type: ignore[attr-defined]
    return counted


def _on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    connection._bench_locks = 0  # a new connection: nothing of a transaction before it counts
    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)
    if not hasattr(connection.commit, "__wrapped__"):
        connection.commit = _timed_commit(connection.commit, connection)
    if not hasattr(connection.rollback, "__wrapped__"):
        connection.rollback = _counted_rollback(connection.rollback, connection)


def install() -> None:
    connection_created.connect(_on_connection, dispatch_uid="madoguchi.bench.count")


class BucketMiddleware:
    """Tags the request's SQL with its bucket (first in the middleware list)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        arrived = time.time()
        started, cpu = time.perf_counter(), time.thread_time()
        bucket = _bucket_of(request.path)
        token = _bucket.set(bucket)
        db: list[Any] = [0.0, 0.0, ""]
        commit = [0.0]
        db_token, commit_token = _db_wall.set(db), _commit_wall.set(commit)
        try:
            with _lock:
                _counts[f"requests.{bucket}"] += 1
            response = self.get_response(request)
        finally:
            _bucket.reset(token)
            _db_wall.reset(db_token)
            _commit_wall.reset(commit_token)
        app, cpu = time.perf_counter() - started, time.thread_time() - cpu
        if bucket in ("desk", "agent"):  # per endpoint, in microseconds
            with _lock:
                _counts[f"endpoint.{request.path}.requests"] += 1
                _counts[f"endpoint.{request.path}.cpu_us"] += round(cpu * 1e6)
                _counts[f"endpoint.{request.path}.app_us"] += round(app * 1e6)
        timing = [f"app;dur={app * 1000:.2f}", f"cpu;dur={cpu * 1000:.2f}"]
        timing.append(f"db;dur={db[0] * 1000:.2f}")
        if db[2]:
            timing.append(f'slowest;dur={db[1] * 1000:.2f};desc="{_label(db[2])}"')
        timing.append(f"commit;dur={commit[0] * 1000:.2f}")
        sent = _sent(request)
        if sent is not None:
            timing.insert(0, f"queue;dur={max(0.0, arrived - sent) * 1000:.2f}")
        pool = gworker.pool_wait()
        if pool is not None:
            timing.insert(0, f"pool;dur={pool * 1000:.2f}")
        response["Server-Timing"] = ", ".join(timing)
        return response


def _sent(request: HttpRequest) -> float | None:
    """When the client sent the request (``X-Bench-Sent``, epoch seconds), if it said."""
    try:
        return float(request.headers.get("X-Bench-Sent", ""))
    except ValueError:
        return None


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (at) VALUES (CURRENT_TIMESTAMP)")  # noqa: S608
    return HttpResponse("ok", content_type="text/plain")


def stats(request: HttpRequest) -> JsonResponse:
    with _lock:
        if request.GET.get("reset"):
            _lock_transactions[:] = [0, 0]
        counts = dict(_counts)
        counts["audit_lock_transactions"] = _lock_transactions[0]
        counts["audit_locks_max_per_transaction"] = _lock_transactions[1]
    return JsonResponse({"pid": os.getpid(), "counts": counts})
