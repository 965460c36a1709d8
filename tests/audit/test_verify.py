"""`madoguchi audit verify`: intact log passes; a row changed behind the trigger is named."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from madoguchi.audit import constraint as columns_constraint
from madoguchi.audit import services as audit
from madoguchi.audit import timeorder, triggers, verify
from madoguchi.audit.canonical import GENESIS, canonical_bytes, chain_hash
from madoguchi.audit.merkle import leaf_hash
from madoguchi.audit.models import AuditEvent


@pytest.fixture(autouse=True)
def _constraints_restored():
    """Tests that tamper as a superuser drop constraints, which a flush does not bring back."""
    yield
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE conrelid = 'audit_auditevent'::regclass "
            "AND conname = 'audit_seq_positive'"
        )
        seq_positive = cursor.fetchone() is not None
        columns = columns_constraint.in_place(cursor)[0]
        if seq_positive and columns:
            return
        with triggers.suspended(connection):
            cursor.execute("DELETE FROM audit_auditevent")
        if not columns:
            cursor.execute(columns_constraint.drop_sql())
            cursor.execute(columns_constraint.add_sql())
            cursor.execute(columns_constraint.validate_sql())
        if not seq_positive:
            cursor.execute(
                "ALTER TABLE audit_auditevent ADD CONSTRAINT audit_seq_positive CHECK (seq >= 1)"
            )


def _record_events(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("terminals.credential_rejected", payload={"reason": f"test {i}", "i": i})


def _verify() -> str:
    import io

    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def _tamper(sql: str, params: list, *, constraint: str = "not_valid") -> None:
    """Change rows as a database superuser would, with the append-only triggers bypassed.

    On PostgreSQL the columns-match-bytes constraint refuses most such changes whatever the
    triggers; `constraint` says what the superuser does about it: "keep" it (the change must
    satisfy it), "drop" it, or drop it and put it back "not_valid" (the change stays, and the
    catalog says the constraint was not checked against existing rows)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with transaction.atomic():
                if constraint != "keep":
                    cursor.execute(columns_constraint.drop_sql())
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute(sql, params)
                if constraint == "not_valid":
                    cursor.execute(columns_constraint.add_sql())
        else:
            cursor.execute("DROP TRIGGER audit_auditevent_no_update")
            cursor.execute("DROP TRIGGER audit_auditevent_no_delete")
            try:
                cursor.execute(sql, params)
            finally:
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
    out = io.StringIO()
    with pytest.raises(CommandError, match="vouches for 3 events but the log holds only 2"):
        call_command("audit", "verify", stdout=out)
    # The chain's line above the failure is no verdict: it read "Audit log intact: 2 events".
    head = AuditEvent.objects.order_by("-seq").first().chain_hash
    assert out.getvalue() == (
        f"The hash chain is intact: 2 events, chain head {head}, but the signed checkpoints "
        "do not match it:\n"
    )


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
        constraint="keep",  # the columns do match the rewritten bytes
    )
    with pytest.raises(CommandError, match="sequence number 2: its contents"):
        _verify()


@pytest.mark.django_db(transaction=True)
def test_stored_bytes_that_are_not_json_fall_back_to_the_columns():
    _record_events(3)
    _tamper(
        "UPDATE audit_auditevent SET canonical = %s WHERE seq = 2",
        [b"\xff not json"],
        constraint="drop",
    )
    assert "Audit log intact: 3 events" in _verify()
    _tamper("UPDATE audit_auditevent SET payload = %s WHERE seq = 1", ['{"reason": "x"}'])
    with pytest.raises(CommandError, match="sequence number 1: its contents"):
        _verify()


pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the columns-match-bytes constraint is PostgreSQL's"
)


@pg_only
@pytest.mark.django_db
def test_the_database_guarantees_the_columns_match_the_stored_bytes():
    """What lets verify hash the stored bytes only: the constraint is there, validated, and the
    expression verify expects (as this PostgreSQL prints it back)."""
    with connection.cursor() as cursor:
        assert columns_constraint.in_place(cursor) == (True, "")


@pg_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"reason": "x", "i": 0}'),
        ("actor_label", "someone"),
        ("event_id", 2008),
        ("time", "2020-01-01T00:00:00Z"),
        ("canonical", b"\xff not json"),
        ("canonical", b'{"seq": 1}'),
    ],
)
def test_a_superuser_bypassing_the_triggers_still_cannot_change_a_column(column, value):
    from django.db import DatabaseError

    _record_events(2)
    with pytest.raises(DatabaseError):
        _tamper(
            f"UPDATE audit_auditevent SET {column} = %s WHERE seq = 1", [value], constraint="keep"
        )
    assert "Audit log intact: 2 events" in _verify()


@pg_only
@pytest.mark.django_db
def test_payload_changed_with_the_constraint_dropped_is_named():
    _record_events(3)
    _tamper(
        "UPDATE audit_auditevent SET payload = %s WHERE seq = 2", ['{"a": 1}'], constraint="drop"
    )
    with connection.cursor() as cursor:
        assert columns_constraint.in_place(cursor) == (
            False,
            f"the constraint {columns_constraint.NAME} is missing",
        )
    with pytest.raises(CommandError, match="sequence number 2: its contents"):
        _verify()


@pg_only
@pytest.mark.django_db
def test_the_constraint_cannot_be_validated_again_over_a_changed_row():
    from django.db import IntegrityError

    _record_events(3)
    _tamper("UPDATE audit_auditevent SET payload = %s WHERE seq = 2", ['{"reason": "x"}'])
    with connection.cursor() as cursor:
        assert columns_constraint.in_place(cursor) == (
            False,
            f"the constraint {columns_constraint.NAME} is not validated (added NOT VALID)",
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            cursor.execute(columns_constraint.validate_sql())
    with pytest.raises(CommandError, match="sequence number 2: its contents"):
        _verify()


@pg_only
@pytest.mark.django_db
def test_a_weaker_constraint_under_the_same_name_is_not_trusted():
    _record_events(3)
    _tamper(
        "UPDATE audit_auditevent SET actor_label = %s WHERE seq = 3", ["someone"], constraint="drop"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE audit_auditevent ADD CONSTRAINT {columns_constraint.NAME} "
            "CHECK (canonical IS NULL OR length(canonical) > 0)"
        )
        assert columns_constraint.in_place(cursor) == (
            False,
            f"the constraint {columns_constraint.NAME} is not the expected expression",
        )
    with pytest.raises(CommandError, match="sequence number 3: its contents"):
        _verify()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "upper", "message"),
    [
        ("leaf_hash", False, "sequence number 4: its contents"),
        ("leaf_hash", True, "sequence number 4: its contents"),
        ("chain_hash", False, "sequence number 4: its chain hash"),
        ("chain_hash", True, "sequence number 4: its chain hash"),
    ],
)
def test_a_changed_hash_column_is_named_across_pages(monkeypatch, column, upper, message):
    """The stored hashes are checked on the fast path too, exactly as written (lower-case hex;
    streamed and compared in chunks of 3 rows here)."""
    monkeypatch.setattr(verify, "_PAGE", 3)
    _record_events(7)
    value = getattr(AuditEvent.objects.get(seq=4), column).upper() if upper else "0" * 64
    _tamper(f"UPDATE audit_auditevent SET {column} = %s WHERE seq = 4", [value], constraint="keep")
    with pytest.raises(CommandError, match=message):
        _verify()


@pytest.mark.django_db
def test_rows_without_stored_bytes_are_verified_from_their_columns(monkeypatch):
    """Events appended before the bytes were kept (null) verify from their columns, between
    rows that verify from their bytes, and a change to one of them is named."""
    monkeypatch.setattr(verify, "_PAGE", 2)
    _record_events(5)
    _tamper(
        "UPDATE audit_auditevent SET canonical = NULL WHERE seq IN (2, 3, 5)", [], constraint="keep"
    )
    head = AuditEvent.objects.get(seq=5).chain_hash
    assert f"Audit log intact: 5 events, chain head {head}." in _verify()
    _tamper(
        "UPDATE audit_auditevent SET payload = %s WHERE seq = 3",
        ['{"reason": "x"}'],
        constraint="keep",
    )
    with pytest.raises(CommandError, match="sequence number 3: its contents"):
        _verify()


@pytest.mark.django_db
@pytest.mark.parametrize("seq", [0, 9])
def test_a_row_inserted_outside_the_sequence_is_named(seq):
    _record_events(3)
    row = AuditEvent.objects.get(seq=2)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DROP CONSTRAINT audit_seq_positive")
            for sql in timeorder.drop_sql():  # seq 9 has no event 8 before it
                cursor.execute(sql)
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
        cursor.execute(
            "INSERT INTO audit_auditevent (seq, time, event_id, event_name, actor_id, actor_label,"
            " terminal_id, terminal_label, subject_type, subject_id, payload, leaf_hash, "
            "chain_hash) VALUES (%s, %s, %s, %s, '', '', '', '', '', '', %s, %s, %s)",
            [seq, row.time, row.event_id, row.event_name, '{"reason": "x"}', row.leaf_hash, "0"],
        )
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = OFF")
    # seq 0 comes first where 1 is expected; seq 9 after 3, where 4 is expected.
    expected = "sequence number 1: the row is missing" if seq == 0 else "sequence number 4: the"
    with pytest.raises(CommandError, match=expected):
        _verify()


@pytest.mark.django_db
def test_the_leaves_kept_for_checkpoints_are_every_events_leaf_in_order(monkeypatch):
    monkeypatch.setattr(verify, "_PAGE", 2)
    _record_events(5)
    expected = [
        leaf_hash(canonical_bytes(row.as_record())) for row in AuditEvent.objects.order_by("seq")
    ]
    result = verify.verify_chain(keep_leaves=True)
    assert result.ok
    assert result.leaves == expected


@pytest.mark.django_db
def test_a_row_removed_with_the_chain_recomputed_after_it_is_named_missing(monkeypatch):
    """Every hash agrees once the rows after the gap are re-chained; the fast path still counts
    the rows it hashed, and the missing one is named."""
    monkeypatch.setattr(verify, "_PAGE", 2)
    _record_events(5)
    previous = GENESIS
    chains = []
    for row in AuditEvent.objects.exclude(seq=3).order_by("seq"):
        previous = chain_hash(previous, leaf_hash(canonical_bytes(row.as_record())))
        chains.append((previous.hex(), row.seq))
    _tamper("DELETE FROM audit_auditevent WHERE seq = %s", [3], constraint="keep")
    for chain_hex, seq in chains:
        _tamper(
            "UPDATE audit_auditevent SET chain_hash = %s WHERE seq = %s",
            [chain_hex, seq],
            constraint="keep",
        )
    with pytest.raises(CommandError, match="sequence number 3: the row is missing"):
        _verify()


@pg_only
@pytest.mark.django_db
def test_a_hash_shifted_from_one_column_into_the_next_is_named():
    """The fast path compares a chunk's hashes in one piece, yet each column must hold exactly
    its own hash: a character moved from the leaf hash to the chain hash (the column widened
    for it by a superuser) leaves the concatenation unchanged and is still named."""
    _record_events(3)
    row = AuditEvent.objects.get(seq=2)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN chain_hash TYPE varchar(65)")
    _tamper(
        "UPDATE audit_auditevent SET leaf_hash = %s, chain_hash = %s WHERE seq = 2",
        [row.leaf_hash[:-1], row.leaf_hash[-1] + row.chain_hash],
        constraint="keep",
    )
    with pytest.raises(CommandError, match="sequence number 2: its contents"):
        _verify()


@pg_only
@pytest.mark.django_db
def test_verify_inside_a_transaction_leaves_its_planner_settings_as_they_were():
    """Verify turns off sorting for its walk (the rows then come in primary key order, however
    stale the statistics); inside a caller's transaction it puts the setting back."""
    _record_events(2)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = on")
        assert verify.verify_chain().ok
        cursor.execute("SHOW enable_sort")
        assert cursor.fetchone() == ("on",)
        cursor.execute("SET LOCAL enable_sort = off")
        assert verify.verify_chain().ok
        cursor.execute("SHOW enable_sort")
        assert cursor.fetchone() == ("off",)


@pg_only
@pytest.mark.django_db(transaction=True)
def test_verify_on_its_own_leaves_no_transaction_open():
    """Outside a transaction verify begins its own (in the round trip of its first query) and
    ends it, whether the fast path holds or the walk falls back to the columns."""
    import psycopg

    _record_events(3)
    assert verify.verify_chain().ok
    _tamper(
        "UPDATE audit_auditevent SET canonical = %s WHERE seq = 2",
        [b"\xff not json"],
        constraint="drop",
    )
    assert verify.verify_chain().ok  # the SQL cannot read the bytes: verified from the columns
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_sort")
        assert cursor.fetchone() == ("on",)
