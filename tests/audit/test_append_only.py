"""The database refuses UPDATE and DELETE on the audit tables, whatever the code path."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _raw(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def _one_event() -> AuditEvent:
    with transaction.atomic():
        return audit.record("accounts.signed_in", payload={"method": "password"})


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET payload = '{}' WHERE seq = 1",
        "DELETE FROM audit_auditevent WHERE seq = 1",
        "DELETE FROM audit_auditevent",
    ],
)
def test_raw_update_or_delete_through_the_application_connection_fails(sql):
    _one_event()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw(sql)
    stored = AuditEvent.objects.get(seq=1)
    assert stored.payload == {"method": "password"}


@pytest.mark.postgres_only
def test_truncate_fails_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    _one_event()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


def test_checkpoint_table_is_append_only_too():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditcheckpoint (size, root_hash, origin, key_name, key_id, note, "
            "created_at) VALUES (0, 'aa', 'o', 'k', '00000000', 'n', '2025-01-01T00:00:00Z')"
        )
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditcheckpoint SET size = 5")


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_log_and_restores_the_triggers():
    _one_event()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    _one_event()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1
