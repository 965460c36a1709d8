"""Round trips between this process and PostgreSQL, counted on the wire by libpq's protocol
trace (issue 15, sixteenth round)."""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def round_trips(trace: str) -> int:
    """The times the client sent and then read: each run of messages to the server (F) ended by
    the server's answer (B) is one round trip, however many statements it carried."""
    count = 0
    sending = False
    for line in trace.splitlines():
        direction = line.split("\t", 1)[0]
        if direction == "F":
            sending = True
        elif direction == "B" and sending:
            count += 1
            sending = False
    return count


@contextmanager
def traced() -> Iterator[list[str]]:
    """The default connection's protocol trace while the block runs: `[text]` once it ends."""
    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    result: list[str] = []
    with tempfile.TemporaryFile("w+") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            yield result
        finally:
            pgconn.untrace()
            out.seek(0)
            result.append(out.read())


@contextmanager
def wire() -> Iterator[list[int]]:
    """The round trips sent inside the block: `counted[0]` once it ends."""
    counted = [0]
    with traced() as trace:
        yield counted
    counted[0] = round_trips(trace[0])
