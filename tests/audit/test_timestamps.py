"""`timestamptz` values on PostgreSQL are read by psycopg's compiled loader instead of Django's
Python one (docs/performance.md, eighteenth round), with the same values and the same tzinfo:
`datetime.timezone.utc`, the object Django's loader gives them."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from psycopg import _cmodule
from psycopg.pq import Format

from madoguchi.audit.backends.postgresql import base

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

UTC = datetime.UTC
TOKYO = datetime.timezone(datetime.timedelta(hours=9))


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the loader is PostgreSQL's")
    if not base.COMPILED:
        pytest.skip("psycopg's compiled module is not installed")


def test_the_connection_reads_timestamptz_with_psycopgs_compiled_loader(postgres):
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(
            cursor.cursor.adapters.types["timestamptz"].oid, Format.TEXT
        )
    assert loader is _cmodule._psycopg.TimestamptzLoader


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2026-12-02 04:18:29.723402+00", datetime.datetime(2026, 12, 2, 4, 18, 29, 723402, UTC)),
        ("2026-03-08 01:59:59.5+09", datetime.datetime(2026, 3, 7, 16, 59, 59, 500000, UTC)),
        ("0001-01-01 00:00:00.000001+00", datetime.datetime(1, 1, 1, 0, 0, 0, 1, UTC)),
        ("9999-12-31 23:59:59.999999+00", datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)),
        ("1969-12-31 23:59:59-00:30", datetime.datetime(1970, 1, 1, 0, 29, 59, tzinfo=UTC)),
    ],
)
def test_values_are_utc_as_djangos_loader_gave_them(postgres, literal, expected):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [literal])
        (value,) = cursor.fetchone()
    assert value == expected
    assert value.tzinfo is UTC
    assert value.isoformat() == expected.isoformat()


def test_the_orm_reads_back_what_it_wrote_also_through_a_server_side_cursor(postgres):
    when = datetime.datetime(2026, 12, 2, 13, 18, 29, 123456, TOKYO)
    user = get_user_model().objects.create(username="tz-reader", last_login=when)
    users = get_user_model().objects.filter(pk=user.pk)
    read = users.get().last_login
    assert read == when
    assert read.tzinfo is UTC
    assert read.isoformat() == "2026-12-02T04:18:29.123456+00:00"
    (streamed,) = [u.last_login for u in users.iterator(chunk_size=1)]
    assert streamed == when
    assert streamed.tzinfo is UTC
