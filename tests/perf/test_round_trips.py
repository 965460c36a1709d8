"""A whole visit's round trips between the server and PostgreSQL, counted on the wire, not timed
(issue 15, sixteenth round). Each round trip is a wake-up of a PostgreSQL backend and of the
worker's thread, which on a loaded machine is what the completion's slow tail waits for.

libpq's protocol trace of the request thread's connection is read after each request: each run
of messages the client sent, ended by the server's answer, is one time the client waited for
the server (a pipeline of several statements is one). The visit runs in real transactions (a
transactional test: each BEGIN and COMMIT is sent as in production). `ROUND_TRIPS_OUT=file`
appends the figures, `ROUND_TRIPS_TRACE=file` the traces.

Before this round a writing transaction sent its BEGIN alone (a round trip in which the server
did nothing) and waited twice at its end (psycopg's COMMIT in the audit append's pipeline synced,
then the pipeline's end): the completion took 11, the visit 88. Now the BEGIN travels with the
transaction's first statement, the COMMIT is answered with the append, and the completion's
procedure updates travel with the COMMIT: 8 and 66."""

import os

import pytest
from django.db import connection
from django.test import Client

from tests.perf.test_statement_budget import (  # noqa: F401 (_origin: a fixture)
    _origin,
    desk_signed_in,
    whole_visit,
)
from tests.wire import round_trips, traced

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's protocol (libpq's trace)"
)

# Landed figures; a change that adds round trips to the visit fails here and has to say why.
BUDGET = {"complete": 8, "visit": 66}


@pytest.mark.django_db(transaction=True)
def test_a_whole_visit_stays_within_its_round_trips(client, trusted, capsys):
    credential = desk_signed_in(client)
    card = trusted.card("A")
    agent_client = Client()  # the agent is one process: its client is made once
    whole_visit(client, card, credential, {}, 0, agent_client=agent_client)  # caches warm
    counts: dict[str, int] = {}

    def measure(name, fn):
        with traced() as trace:
            response = fn()
        counts[name] = round_trips(trace[0])
        if os.environ.get("ROUND_TRIPS_TRACE"):  # which messages a request sent
            with open(os.environ["ROUND_TRIPS_TRACE"], "a") as f:
                f.write(f"=== {name}\n{trace[0]}")
        return response

    whole_visit(client, card, credential, {}, 1, agent_client=agent_client, measure=measure)
    total = sum(counts.values())
    line = f"round trips per request: {counts} total {total}"
    with capsys.disabled():
        print("\n" + line)
    if os.environ.get("ROUND_TRIPS_OUT"):
        with open(os.environ["ROUND_TRIPS_OUT"], "a") as f:
            f.write(line + "\n")
    assert counts["complete"] <= BUDGET["complete"], counts
    assert total <= BUDGET["visit"], counts
