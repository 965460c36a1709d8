"""The server's CPU per request of whole visits, through Django's test client (issue 15,
fifteenth round). Not a test (pytest does not collect this file): a repeatable measure for a
shared machine, where the bench's wall-clock rates are noise. Run it by name:

    VISITS=30 pytest -p no:cacheprovider -q -s tests/perf/probe_visit_cpu.py::test_probe

Each request of the statement-budget test's visit (`whole_visit`) is timed by its thread's CPU
(`time.thread_time`): the middleware, the view, the ORM and the database driver's side, not
PostgreSQL's; the card's signing is outside the requests. Three warm-up visits first; the card
agent's client is made once (it is one process). The test framework's template instrumentation
is switched off (production renders without it). `PROFILE=file` writes a cProfile of the
requests (by thread CPU); `PROBE_OUT=file` appends the figures."""

import cProfile
import os
import time

import pytest
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
    credential = desk_signed_in(client)
    card = trusted.card("A")
    agent_client = Client()
    for n in range(3):
        whole_visit(client, card, credential, {}, n, agent_client=agent_client)
    visits = int(os.environ.get("VISITS", "30"))
    profile = cProfile.Profile(time.thread_time) if os.environ.get("PROFILE") else None
    cpu: dict[str, list[int]] = {}

    def measure(name, fn):
        if profile:
            profile.enable()
        started = time.thread_time_ns()
        response = fn()
        cpu.setdefault(name, []).append(time.thread_time_ns() - started)
        if profile:
            profile.disable()
        return response

    for n in range(3, 3 + visits):
        whole_visit(client, card, credential, {}, n, agent_client=agent_client, measure=measure)
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
    print("\n" + "\n".join(lines))
    if os.environ.get("PROBE_OUT"):
        with open(os.environ["PROBE_OUT"], "a") as out:
            out.write("\n".join(lines) + "\n")
