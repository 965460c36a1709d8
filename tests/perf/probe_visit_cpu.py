"""The server's CPU per request of whole visits, through Django's test client (issue 15,
fifteenth round). Not a test (pytest does not collect this file): a repeatable measure for a
shared machine, where the bench's wall-clock rates are noise. Run it by name:

    VISITS=30 pytest -p no:cacheprovider -q -s tests/perf/probe_visit_cpu.py::test_probe

Each request of the statement-budget test's visit (`whole_visit`) is timed by its thread's CPU
(`time.thread_time`): the middleware, the view, the ORM and the database driver's side, not
PostgreSQL's; the card's signing is outside the requests. Three warm-up visits first; the card
agent's client is made once (it is one process). The test framework's template instrumentation
is switched off (production renders without it). `PROFILE=file` writes a cProfile of the
requests (by thread CPU); `PROBE_OUT=file` appends the figures. `SAMPLE=file` writes where the
requests' CPU went by sampling instead (sixteenth round): the process's CPU-time timer
(`ITIMER_PROF`, every `SAMPLE_MS`, 0.5 by default) interrupts it and the stack of the request
then running is counted, so code made of many small calls is not inflated as under cProfile.
The file gives each function's share of the samples with its callees (inclusive) and alone
(self). The figures include the garbage collector's passes during the requests (seventeenth
round: its time and passes are printed apart); `GC_FREEZE=early` freezes the objects alive
before the sign-in and the warm-up visits (`gc.freeze()`), as `madoguchi serve`'s workers do
once the application is loaded and before their first request
(`madoguchi.core.gconf.post_worker_init`); `GC_FREEZE=1` after the warm-up visits, with what the
first requests loaded (templates, lazily imported modules); `GC_FREEZE=again` both, with a
collection before the second, as the workers do since the eighteenth round (`gconf.post_request`).
`TIMESTAMPS=django` reads `timestamptz` values through Django's own loader instead of psycopg's
compiled one (`madoguchi.audit.backends.postgresql`, eighteenth round)."""

import cProfile
import gc
import os
import signal
import time
from collections import Counter

import pytest
from django.db import connection
from django.template.base import Template
from django.test import Client
from django.test.utils import _TestState

from tests.perf.test_statement_budget import (  # noqa: F401 (_origin: a fixture)
    _origin,
    desk_signed_in,
    whole_visit,
)


@pytest.mark.django_db(transaction=True)
def test_probe(client, trusted):
    Template._render = _TestState.saved_data.template_render  # as production renders
    if os.environ.get("TIMESTAMPS") == "django":
        connection.compiled_timestamps = False  # Django's loader from the next connection
        connection.close()
    if os.environ.get("GC_FREEZE") in ("early", "again"):
        gc.freeze()
    credential = desk_signed_in(client)
    card = trusted.card("A")
    agent_client = Client()
    for n in range(3):
        whole_visit(client, card, credential, {}, n, agent_client=agent_client)
    visits = int(os.environ.get("VISITS", "30"))
    if os.environ.get("GC_FREEZE") == "1":
        gc.freeze()
    if os.environ.get("GC_FREEZE") == "again":
        gc.collect()
        gc.freeze()
    collector = _Collector()
    profile = cProfile.Profile(time.thread_time) if os.environ.get("PROFILE") else None
    cpu: dict[str, list[int]] = {}
    sampler = _Sampler() if os.environ.get("SAMPLE") else None

    def measure(name, fn):
        if profile:
            profile.enable()
        if sampler:
            sampler.request = name
        started = time.thread_time_ns()
        collector.on = True
        response = fn()
        collector.on = False
        cpu.setdefault(name, []).append(time.thread_time_ns() - started)
        if sampler:
            sampler.request = None
        if profile:
            profile.disable()
        return response

    if sampler:
        sampler.start(float(os.environ.get("SAMPLE_MS", "0.5")) / 1000)
    try:
        for n in range(3, 3 + visits):
            whole_visit(client, card, credential, {}, n, agent_client=agent_client, measure=measure)
    finally:
        gc.callbacks.remove(collector.callback)
        if sampler:
            sampler.stop(os.environ["SAMPLE"])
    if profile:
        profile.dump_stats(os.environ["PROFILE"])
    lines = [f"visits {visits}"]
    total = 0.0
    for name, values in cpu.items():
        ms = sorted(v / 1e6 for v in values)
        mean = sum(ms) / len(ms)
        total += mean
        lines.append(f"{name:22s} median {ms[len(ms) // 2]:7.2f} mean {mean:7.2f} ms")
    lines.append(f"{'server CPU a visit':22s} mean {total:7.2f} ms")
    passes = " ".join(f"gen{g} {n / visits:.2f}" for g, n in sorted(collector.passes.items()))
    lines.append(
        f"{'of which GC a visit':22s} mean {collector.ns / 1e6 / visits:7.2f} ms "
        f"(thread CPU; passes a visit: {passes or 'none'}; frozen objects {gc.get_freeze_count()})"
    )
    print("\n" + "\n".join(lines))
    if os.environ.get("PROBE_OUT"):
        with open(os.environ["PROBE_OUT"], "a") as out:
            out.write("\n".join(lines) + "\n")


class _Collector:
    """The garbage collector's passes that start during a measured request: how many of each
    generation, and their thread CPU time (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.on = False
        self.ns = 0
        self.passes: Counter[int] = Counter()
        self._started = 0
        gc.callbacks.append(self.callback)

    def callback(self, phase: str, info: dict) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.thread_time_ns()
            self.passes[info["generation"]] += 1
        elif self._started:
            self.ns += time.thread_time_ns() - self._started
            self._started = 0


class _Sampler:
    """Counts the stack of the request running each time the process has used `interval`
    seconds of CPU (`SIGPROF`; the handler runs in the main thread, the one making the
    requests). Samples that fall outside a request (the card's signing) are not counted."""

    def __init__(self) -> None:
        self.request: str | None = None
        self.stacks: list[tuple[str, tuple[str, ...]]] = []

    def _sample(self, signum, frame) -> None:
        if self.request is None:
            return
        stack = []
        while frame is not None:
            code = frame.f_code
            where = code.co_filename.rpartition("site-packages/")[2].rpartition("/src/")[2]
            stack.append(f"{where}:{code.co_name}")
            frame = frame.f_back
        self.stacks.append((self.request, tuple(stack)))

    def start(self, interval: float) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, interval, interval)

    def stop(self, path: str) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        total = len(self.stacks) or 1
        by_request = Counter(name for name, _stack in self.stacks)
        inclusive: Counter[str] = Counter()
        alone: Counter[str] = Counter()
        for _name, stack in self.stacks:
            inclusive.update(set(stack))
            alone[stack[0]] += 1
        with open(path, "w") as out:
            out.write(f"samples {len(self.stacks)}\n== by request\n")
            for name, n in by_request.most_common():
                out.write(f"{100 * n / total:6.2f} {name}\n")
            for title, counts in (("inclusive", inclusive), ("self", alone)):
                out.write(f"== {title}\n")
                for where, n in counts.most_common(300):
                    out.write(f"{100 * n / total:6.2f} {where}\n")
