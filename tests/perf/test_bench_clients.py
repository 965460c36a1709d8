"""`madoguchi bench completion`'s client in several processes and the server's own wait for a
thread (issue 15, fourteenth round): 32 desk threads, their agents and presence reporters in one
Python process share one GIL, and a desk's clock kept running while its answer waited for the
others' Python; and the request's wait for a free thread of a gunicorn worker was inside
`queue`, not told apart from the client's sending and the worker's scheduling."""

import os
import types

import httpx
import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from gunicorn.workers.gthread import ThreadWorker

from madoguchi.core import gworker
from madoguchi.core.bench import completion as bench
from madoguchi.core.bench import server


def test_the_desks_are_dealt_over_the_client_processes():
    desks = list(range(10))
    assert bench._shares(desks, 4) == [[0, 4, 8], [1, 5, 9], [2, 6], [3, 7]]
    assert bench._shares(desks[:2], 4) == [[0], [1]]  # no empty process
    assert bench._shares(desks, 1) == [desks]


def test_each_part_runs_in_a_child_process_of_its_own_and_says_what_it_returned():
    pids = bench.in_processes([os.getpid, os.getpid, lambda: "third"])
    assert pids[2] == "third"
    assert len({pids[0], pids[1], os.getpid()}) == 3


def test_a_part_that_fails_fails_the_run_and_says_why():
    def broken():
        raise ValueError("the desk could not sign in")

    with pytest.raises(bench.BenchError, match="ValueError: the desk could not sign in"):
        bench.in_processes([os.getpid, broken])


def test_the_client_processes_cpu_is_counted_as_the_clients():
    """The bench's client CPU per visit and per floor request is its process's: with the desks
    in children, their CPU counts once they are joined (it was this process's only)."""

    def busy() -> float:
        start = os.times()
        while os.times().user + os.times().system - start.user - start.system < 0.2:
            sum(range(10_000))
        return 0.2

    before = bench._own_cpu()
    bench.in_processes([busy])
    assert bench._own_cpu() - before >= 0.15  # the child's 0.2 s, in clock ticks


def test_the_report_says_how_many_client_processes_the_desks_were_in():
    result = bench.Result(desks=32, duration=1.0, visits=1, visit_elapsed=1.0, complete_ms=[1.0])
    result.client_processes = 4
    lines = "\n".join(bench.report(result))
    assert "the desks' client:    4 processes (32 desks" in lines


def test_a_worker_thread_knows_how_long_its_request_waited_for_a_thread(monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(gworker.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(ThreadWorker, "enqueue_req", lambda self, conn: None)
    waited = []
    monkeypatch.setattr(
        ThreadWorker, "handle", lambda self, conn: waited.append(gworker.pool_wait())
    )
    conn = types.SimpleNamespace(parser=None, initialized=True, data_ready=True)
    worker = gworker.Worker.__new__(gworker.Worker)  # gthread's own parts are stubbed above
    worker.enqueue_req(conn)  # the main loop: the connection is readable
    worker.handle(conn)  # a thread of the pool takes it
    assert waited == [0.25]


def test_the_bench_server_answers_the_wait_for_a_thread_and_the_bench_reads_it(monkeypatch):
    monkeypatch.setattr(gworker, "pool_wait", lambda: 0.012)
    response = server.BucketMiddleware(lambda request: HttpResponse("ok"))(
        RequestFactory().get("/desk/")
    )
    timing = bench.server_timing(httpx.Response(200, headers=dict(response.items())))
    assert timing["pool"] == 12.0
    r = bench.Result(desks=1, duration=1)
    r.complete_timing = [{"total": 100.0, "app": 80.0, "cpu": 20.0, "db": 30.0, **timing}]
    assert "pool" in "\n".join(bench._timing_lines(r))
    monkeypatch.setattr(gworker, "pool_wait", lambda: None)  # not in a gunicorn thread
    plain = server.BucketMiddleware(lambda request: HttpResponse("ok"))(
        RequestFactory().get("/desk/")
    )
    assert "pool" not in bench.server_timing(httpx.Response(200, headers=dict(plain.items())))


def test_the_report_gives_each_workers_share_of_the_requests():
    """A kept-alive connection stays with the worker that accepted it: the report says how the
    desks' requests fell on the workers (one worker with half of them queues where the others
    idle)."""
    result = bench.Result(desks=2, duration=1.0, visits=1, visit_elapsed=1.0, complete_ms=[1.0])
    result.counts = {"worker.11.requests": 150, "worker.12.requests": 50, "worker.13.requests": 100}
    lines = "\n".join(bench.report(result))
    assert "requests by worker:   50%, 33%, 17% of the desks' and agents' requests" in lines


def test_the_report_gives_the_closed_loops_mean_time_a_request():
    """32 desks that each send their next request as soon as they have the answer: at 320
    desk requests a second, a request takes 100 ms on average whatever it does."""
    result = bench.Result(desks=32, duration=10.0, visits=200, visit_elapsed=10.0)
    result.complete_ms = [1.0] * 200
    result.counts = {"requests.desk": 2800}  # 14 a visit, + the card's insertion and removal
    lines = "\n".join(bench.report(result))
    assert "closed loop:          32 desks" in lines
    assert "320 desk requests/s, so 100 ms a request on average" in lines
