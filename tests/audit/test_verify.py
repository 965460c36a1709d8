"""`madoguchi audit verify`: intact log passes; a row changed behind the trigger is named."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from madoguchi.audit import services as audit
from madoguchi.audit.canonical import GENESIS, canonical_bytes, chain_hash
from madoguchi.audit.merkle import leaf_hash
from madoguchi.audit.models import AuditEvent


def _record_events(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("terminals.desk_session_refused", payload={"reason": f"test {i}", "i": i})


def _verify() -> str:
    import io

    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def _tamper(sql: str, params: list) -> None:
    """Change rows as a database superuser would, with the append-only triggers bypassed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with transaction.atomic():
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute(sql, params)
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_update")
            cursor.execute("DROP TRIGGER audit_auditevent_no_delete")
            try:
                cursor.execute(sql, params)
            finally:
                from madoguchi.audit import triggers

                for statement in triggers.install_sql("sqlite"):
                    cursor.execute(statement)


@pytest.mark.django_db
def test_empty_log_verifies():
    assert "intact: 0 events" in _verify()


@pytest.mark.django_db
def test_intact_log_verifies_with_a_summary():
    _record_events(5)
    head = AuditEvent.objects.get(seq=5).chain_hash
    out = _verify()
    assert f"Audit log intact: 5 events, chain head {head}." in out


@pytest.mark.django_db(transaction=True)
def test_payload_changed_by_a_superuser_is_named():
    _record_events(5)
    _tamper("UPDATE audit_auditevent SET payload = %s WHERE seq = 3", ['{"reason": "x", "i": 2}'])
    assert AuditEvent.objects.get(seq=3).payload == {"reason": "x", "i": 2}
    with pytest.raises(CommandError, match="sequence number 3: its contents") as excinfo:
        _verify()
    assert excinfo.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_row_rewritten_with_a_fresh_leaf_hash_breaks_the_chain_there():
    _record_events(4)
    row = AuditEvent.objects.get(seq=2)
    row.actor_label = "someone else"
    forged_leaf = leaf_hash(canonical_bytes(row.as_record())).hex()
    _tamper(
        "UPDATE audit_auditevent SET actor_label = %s, leaf_hash = %s WHERE seq = 2",
        ["someone else", forged_leaf],
    )
    with pytest.raises(CommandError, match="sequence number 2: its chain hash") as excinfo:
        _verify()
    assert excinfo.value.returncode == 1


@pytest.mark.django_db(transaction=True)
def test_deleted_row_is_named():
    _record_events(4)
    _tamper("DELETE FROM audit_auditevent WHERE seq = %s", [3])
    with pytest.raises(CommandError, match="sequence number 3: the row is missing"):
        _verify()


@pytest.mark.django_db(transaction=True)
def test_deleted_last_row_is_only_caught_by_a_checkpoint(audit_files):
    """Truncating the tail leaves a valid chain; the signed checkpoint outside the database
    still vouches for the removed events."""
    call_command("audit", "keygen", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _record_events(3)
    call_command("audit", "checkpoint", stdout=open("/dev/null", "w"))  # noqa: SIM115
    # The checkpoint covers 3 events; recording it appended event 4.
    _tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [3])
    with pytest.raises(CommandError, match="vouches for 3 events but the log holds only 2"):
        _verify()


@pytest.mark.django_db(transaction=True)
def test_whole_chain_recomputed_still_fails_against_the_checkpoint(audit_files):
    call_command("audit", "keygen", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _record_events(4)
    call_command("audit", "checkpoint", stdout=open("/dev/null", "w"))  # noqa: SIM115
    _record_events(2)
    # A superuser rewrites event 2 and recomputes every leaf and chain hash after it.
    rows = list(AuditEvent.objects.order_by("seq"))
    rows[1].payload = {"reason": "rewritten", "i": 1}
    previous = GENESIS
    updates = []
    for row in rows:
        leaf = leaf_hash(canonical_bytes(row.as_record()))
        previous = chain_hash(previous, leaf)
        updates.append((row.seq, leaf.hex(), previous.hex()))
    import json

    _tamper("UPDATE audit_auditevent SET payload = %s WHERE seq = 2", [json.dumps(rows[1].payload)])
    for seq, leaf_hex, chain_hex in updates:
        _tamper(
            "UPDATE audit_auditevent SET leaf_hash = %s, chain_hash = %s WHERE seq = %s",
            [leaf_hex, chain_hex, seq],
        )
    call_command("audit", "verify", "--no-checkpoints", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with pytest.raises(CommandError, match=r"events 1\.\.4 do not match") as excinfo:
        _verify()
    assert "between sequence numbers 1 and 4" in str(excinfo.value)


@pytest.mark.django_db
def test_each_event_keeps_the_canonical_bytes_its_leaf_hash_was_computed_from():
    _record_events(3)
    for row in AuditEvent.objects.order_by("seq"):
        assert bytes(row.canonical) == canonical_bytes(row.as_record())
        assert leaf_hash(bytes(row.canonical)).hex() == row.leaf_hash


@pytest.mark.django_db(transaction=True)
def test_a_column_changed_to_match_rewritten_stored_bytes_is_still_named():
    """Stored bytes are only a faster way to the same proof: rewriting them together with a
    column does not hide the change (the leaf hash is of the columns' canonical form)."""
    _record_events(3)
    row = AuditEvent.objects.get(seq=2)
    row.event_name = "terminals.something_else"
    forged = canonical_bytes(row.as_record())
    _tamper(
        "UPDATE audit_auditevent SET event_name = %s, canonical = %s WHERE seq = 2",
        [row.event_name, forged],
    )
    with pytest.raises(CommandError, match="sequence number 2: its contents"):
        _verify()


@pytest.mark.django_db(transaction=True)
def test_stored_bytes_that_are_not_json_fall_back_to_the_columns():
    _record_events(3)
    _tamper("UPDATE audit_auditevent SET canonical = %s WHERE seq = 2", [b"\xff not json"])
    assert "Audit log intact: 3 events" in _verify()
    _tamper("UPDATE audit_auditevent SET payload = %s WHERE seq = 1", ['{"reason": "x"}'])
    with pytest.raises(CommandError, match="sequence number 1: its contents"):
        _verify()
