"""The test databases commit without waiting for the disk (tests/conftest.py)."""

import pytest
from django.db import connection, transaction


@pytest.mark.django_db
def test_the_test_database_commits_without_waiting_for_the_disk():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 0  # OFF
        else:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "off"


@pytest.mark.django_db(transaction=True)
def test_the_tests_flush_empties_every_table_and_leaves_the_append_only_triggers():
    """On PostgreSQL the tests' flush deletes rows (no TRUNCATE, ~1 s a transactional test)."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.core.management.sql import sql_flush

    from madoguchi.accounts.models import User
    from madoguchi.audit import services as audit
    from madoguchi.audit.models import AuditEvent
    from tests import factories

    factories.staff()
    with transaction.atomic():
        audit.record("accounts.sign_in_failed", payload={"before": "flush"})
    statements = sql_flush(no_style(), connection, reset_sequences=False)
    if connection.vendor == "postgresql":
        assert statements[0] == "SET LOCAL session_replication_role = replica;"
        assert not [s for s in statements if "TRUNCATE" in s]
        assert "TRUNCATE" in sql_flush(no_style(), connection, reset_sequences=True)[0]
    call_command("flush", interactive=False, verbosity=0, reset_sequences=False)
    assert not AuditEvent.objects.exists()
    assert not User.objects.exists()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s", ["audit_%"])
            assert cursor.fetchone()[0] == 4
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
