"""`madoguchi bench completion`'s server-side timing (issue 15, seventh round): the bench
server's middleware answers each request's time by part, and the bench reads it back."""

import time

import httpx
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from madoguchi.core.bench import completion as bench
from madoguchi.core.bench import server


def test_the_bench_middleware_times_each_request_by_part(db):
    server._on_connection(None, connection)  # as `connection_created` does in the bench server
    try:

        def view(request):
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            assert server._label('UPDATE "desk_visit" SET x = 1 FROM "b"') == "UPDATE desk_visit"
            assert (
                server._label('SELECT "a" FROM "identity_nonce" WHERE') == "SELECT identity_nonce"
            )
            time.sleep(0.02)
            return HttpResponse("ok")

        sent = time.time() - 0.05
        request = RequestFactory().post("/api/v1/visits/current/complete")
        request.META["HTTP_X_BENCH_SENT"] = repr(sent)
        response = server.BucketMiddleware(view)(request)
        timing = bench.server_timing(httpx.Response(200, headers=dict(response.items())))
        assert set(timing) == {"queue", "app", "cpu", "db", "commit", "slowest", "slowest_desc"}
        assert timing["slowest_desc"] == "SELECT"
        assert timing["queue"] >= 50
        assert timing["app"] >= 20 > timing["cpu"]
        assert 0 < timing["db"] < timing["app"]
        counts = server._counts
        assert counts["endpoint./api/v1/visits/current/complete.requests"] >= 1
        # Without the client's clock, no queue part.
        plain = server.BucketMiddleware(view)(RequestFactory().get("/desk/"))
        assert "queue" not in bench.server_timing(httpx.Response(200, headers=dict(plain.items())))
    finally:
        connection.execute_wrappers.remove(server._count)
        if hasattr(connection.commit, "__wrapped__"):
            del connection.commit


def test_the_bench_reads_the_completion_by_part():
    r = bench.Result(desks=1, duration=1)
    r.complete_timing = [
        {"total": 100.0, "queue": 10.0, "app": 80.0, "cpu": 20.0, "db": 30.0, "commit": 5.0},
        {"total": 300.0, "queue": 50.0, "app": 200.0, "cpu": 20.0, "db": 150.0, "commit": 10.0},
    ]
    lines = "\n".join(bench._timing_lines(r))
    assert "queue" in lines
    assert "after" in lines
    assert r.complete_timing[1]["after"] == 50.0
    assert r.complete_timing[1]["wait"] == 20.0
