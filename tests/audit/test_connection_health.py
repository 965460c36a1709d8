"""The per-request connection check (CONN_HEALTH_CHECKS) on PostgreSQL: no round trip for a
healthy idle connection, and a connection the server ended is still replaced before the
request's first query (the faults test restarts PostgreSQL and needs exactly that)."""

import time
from unittest import mock

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_started
from django.db import connection

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the check without a round trip is PostgreSQL's")
    connection.ensure_connection()
    yield
    connection.close()


def _new_request() -> None:
    request_started.send(sender=None)


def test_a_healthy_idle_connection_is_checked_without_a_statement(postgres):
    raw = connection.connection
    with mock.patch.object(raw, "cursor", side_effect=AssertionError("a round trip")):
        assert connection.is_usable()


def test_the_first_query_after_the_server_ended_the_connection_succeeds(postgres):
    pid = connection.connection.info.backend_pid
    settings = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in settings.items() if k not in ("cursor_factory", "context")},
        autocommit=True,
    ) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    deadline = time.monotonic() + 60  # a poll: returns once the server has ended it
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection.is_usable()

    _new_request()
    assert get_user_model().objects.count() == 0
    assert connection.connection.info.backend_pid != pid
