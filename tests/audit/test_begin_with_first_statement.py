"""A transaction's BEGIN sent with its first statement, and statements deferred to the next one or
the COMMIT (madoguchi.audit.backends.postgresql, issue 15, sixteenth round): fewer round trips,
the same transactions. Counted on the wire (libpq's trace) and checked by what is committed."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_chain
from madoguchi.desk.events import VISITS_STARTED
from tests.wire import wire

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

User = get_user_model()


@pytest.fixture(autouse=True)
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's protocol")
    connection.ensure_connection()
    yield
    connection.close()


def _other_sees(username: str) -> bool:
    """Whether another connection (so: committed) sees the user."""
    import psycopg

    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
        autocommit=True,
    ) as other:
        row = other.execute(
            "SELECT count(*) FROM accounts_user WHERE username = %s", [username]
        ).fetchone()
    return bool(row and row[0])


def test_the_begin_travels_with_the_first_statement_and_the_commit_with_the_append():
    with wire() as counted, transaction.atomic():
        User.objects.create(username="one")
        audit.record(VISITS_STARTED, payload={"visit": "V1"})
    # The BEGIN with the INSERT (one), the append with the COMMIT (one).
    assert counted[0] == 2
    assert _other_sees("one")
    assert AuditEvent.objects.filter(event_name=VISITS_STARTED.name).count() == 1


def test_a_transaction_that_sends_nothing_costs_no_round_trip():
    with wire() as counted, transaction.atomic():
        pass
    assert counted[0] == 0
    assert connection.connection.info.transaction_status == 0  # idle, nothing left open


def test_the_statements_run_in_one_transaction_and_a_rollback_undoes_them():
    def written_then_failed():
        with transaction.atomic():
            User.objects.create(username="two")
            assert User.objects.filter(username="two").exists()
            assert not _other_sees("two")  # not committed: it is in a transaction
            raise RuntimeError

    with pytest.raises(RuntimeError):
        written_then_failed()
    assert not User.objects.filter(username="two").exists()
    with transaction.atomic():
        User.objects.create(username="three")
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create(username="three")  # a savepoint rolled back
    assert _other_sees("three")


def test_a_deferred_statement_runs_in_order_and_fails_the_transaction_where_it_surfaces():
    user = User.objects.create(username="four")
    table = User._meta.db_table
    with wire() as counted, transaction.atomic():
        connection.defer(f"UPDATE {table} SET first_name = %s WHERE id = %s", ["deferred", user.pk])
        # Sent with the next statement, which sees it.
        assert User.objects.get(pk=user.pk).first_name == "deferred"
    assert counted[0] == 2  # BEGIN + UPDATE + SELECT, then the COMMIT
    with wire() as counted, transaction.atomic():
        connection.defer(f"UPDATE {table} SET last_name = %s WHERE id = %s", ["at commit", user.pk])
    assert counted[0] == 1  # BEGIN, UPDATE and COMMIT together
    assert User.objects.get(pk=user.pk).last_name == "at commit"

    def taken_by_the_deferred_update():
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(first_name="rolled back")
            connection.defer(f"UPDATE {table} SET username = %s WHERE id = %s", ["one", user.pk])
            User.objects.create(username="one")  # the deferred UPDATE took the name: refused

    with pytest.raises(IntegrityError):
        taken_by_the_deferred_update()
    user.refresh_from_db()
    assert (user.first_name, user.username) == ("deferred", "four")
    with pytest.raises(IntegrityError), transaction.atomic():
        connection.defer(f"INSERT INTO {table} (id) VALUES (%s)", [user.pk])  # fails at COMMIT
    assert not connection.needs_rollback
    assert User.objects.filter(pk=user.pk).count() == 1
    with transaction.atomic():
        connection.defer(f"UPDATE {table} SET last_name = %s WHERE id = %s", ["dropped", user.pk])
        transaction.set_rollback(True)
    user.refresh_from_db()
    assert user.last_name == "at commit"


def test_outside_a_transaction_a_deferred_statement_is_sent_at_once():
    user = User.objects.create(username="five")
    table = User._meta.db_table
    connection.defer(f"UPDATE {table} SET first_name = %s WHERE id = %s", ["now", user.pk])
    assert _other_sees("five")
    assert User.objects.get(pk=user.pk).first_name == "now"


def test_statements_that_cannot_travel_in_a_pipeline_still_run_in_the_transaction():
    with transaction.atomic():
        User.objects.bulk_create([User(username="six")])
        # Several commands in one string (as a migration sends them): the simple protocol.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1; SELECT 2")
    with transaction.atomic():
        # A server-side cursor (iterator()) as the transaction's first statement: the BEGIN
        # goes first, the cursor is declared in the transaction and sees its own writes.
        assert [u.username for u in User.objects.filter(username="six").iterator()] == ["six"]
        User.objects.create(username="seven")
        names = set(User.objects.values_list("username", flat=True).iterator(chunk_size=1))
        assert {"six", "seven"} <= names
        assert not _other_sees("seven")
    assert _other_sees("seven")
    with transaction.atomic():
        audit.record(VISITS_STARTED, payload={"visit": "V2"})
    with transaction.atomic():  # the audit log's streamed read, first in its transaction
        assert verify_chain().ok


def test_an_error_in_the_first_statement_leaves_the_transaction_to_roll_back():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM accounts_user")
    assert connection.connection.info.transaction_status == 0
    assert User.objects.count() >= 0  # the connection is usable
