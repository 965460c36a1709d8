"""Each event keeps the previous event's seq and time, and on PostgreSQL two constraints check
them against that event (`madoguchi.audit.timeorder`, migration audit.0009, forty-fourth
session): an event whose time goes back cannot be inserted by any role short of a superuser, and
`audit verify`, reading the catalog once, no longer compares every event's time with the previous
one's (the window function that about doubled PostgreSQL's part of a walk). Where the guarantee
is missing (a constraint dropped, re-added NOT VALID, its triggers disabled) or does not reach
(events appended before the migration) the walk tests the times itself, as before."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from madoguchi.audit import append_function, timeorder, verify
from madoguchi.audit import services as audit
from madoguchi.audit.canonical import EventRecord, canonical_bytes
from madoguchi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

FORGED_SAYS = "is earlier than the previous event's, "


def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the constraints and the stream are PostgreSQL's")


def _record(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            audit.record("accounts.sign_in_failed", payload={"username": f"u{i}", "reason": "x"})


def _forged(*, previous: tuple[Any, Any] | None = "head", **change: Any) -> AuditEvent:  # type: ignore[assignment]
    """An event after the head as a plain INSERT would write it, hashes computed to match;
    `previous`: its (previous_seq, previous_time), the head's unless given."""
    head = AuditEvent.objects.order_by("-seq").first()
    assert head is not None
    fields: dict[str, Any] = dict(
        seq=head.seq + 1,
        time=head.time,
        event_id=1001,
        event_name="accounts.signed_in",
        actor_id="7",
        actor_label="田中 (tanaka)",
        terminal_id="",
        terminal_label="",
        subject_type="",
        subject_id="",
        payload={"method": "password+totp"},
    )
    fields.update(change)
    data = canonical_bytes(EventRecord(**fields))
    leaf = hashlib.sha256(b"\x00" + data).digest()
    chain = hashlib.sha256(bytes.fromhex(head.chain_hash) + leaf).digest()
    previous_seq, previous_time = (
        (head.seq, head.time) if previous == "head" else previous or (None, None)
    )
    return AuditEvent(
        **fields,
        canonical=data,
        leaf_hash=leaf.hex(),
        chain_hash=chain.hex(),
        previous_seq=previous_seq,
        previous_time=previous_time,
    )


def _catalog() -> tuple[int | None, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {timeorder.CATALOG_COLUMNS} FROM (SELECT 1) AS one {timeorder.CATALOG_JOIN}"
        )
        return timeorder.judge(*cursor.fetchone())


def _streamed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries the verifier's stream sends, as they are sent."""
    sent: list[str] = []
    stream = psycopg.Cursor.stream

    def spy(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return stream(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "stream", spy)
    return sent


def _verify_lines() -> list[str]:
    return verify.verify_log(verifier_key="", skip_checkpoints=True, directory=None).lines


# --- What the append writes ---------------------------------------------------------------------


def test_every_event_keeps_the_previous_events_seq_and_time(monkeypatch):
    """Both appends (PostgreSQL's function, SQLite's Python), several events to a transaction."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    _record(1)
    monkeypatch.setattr(timezone, "now", lambda: now + timedelta(seconds=5))
    with transaction.atomic():
        for i in range(3):
            audit.record("accounts.sign_in_failed", payload={"n": i})
    rows = list(
        AuditEvent.objects.order_by("seq").values_list(
            "seq", "time", "previous_seq", "previous_time"
        )
    )
    assert rows == [
        (1, now, None, None),
        (2, now + timedelta(seconds=5), 1, now),
        (3, now + timedelta(seconds=5), 2, now + timedelta(seconds=5)),
        (4, now + timedelta(seconds=5), 3, now + timedelta(seconds=5)),
    ]
    assert verify.verify_chain().ok


# --- What the database refuses (PostgreSQL) -----------------------------------------------------


@pytest.mark.parametrize(
    ("forged", "constraint"),
    [
        # The previous event's true time, its own earlier: the CHECK.
        (lambda: _forged(time=datetime(2020, 1, 1, tzinfo=UTC)), timeorder.CHECK_NAME),
        # A previous time made up to suit it: no such event, the foreign key.
        (
            lambda: _forged(
                time=datetime(2020, 1, 1, tzinfo=UTC),
                previous=(AuditEvent.objects.count(), datetime(2019, 1, 1, tzinfo=UTC)),
            ),
            timeorder.FOREIGN_KEY_NAME,
        ),
        # No previous event recorded: only the first events may have none.
        (
            lambda: _forged(time=datetime(2020, 1, 1, tzinfo=UTC), previous=None),
            timeorder.CHECK_NAME,
        ),
        # A previous seq that is not the one before: the CHECK.
        (
            lambda: _forged(
                time=datetime(2020, 1, 1, tzinfo=UTC),
                previous=(1, AuditEvent.objects.get(seq=1).time),
            ),
            timeorder.CHECK_NAME,
        ),
        # A previous seq without a previous time (a null the CHECK would otherwise let by).
        (lambda: _forged(previous=(AuditEvent.objects.count(), None)), timeorder.CHECK_NAME),
        # A row past a gap, pointing at a missing event.
        (
            lambda: _forged(
                seq=AuditEvent.objects.count() + 2,
                previous=(AuditEvent.objects.count() + 1, AuditEvent.objects.get(seq=3).time),
            ),
            timeorder.FOREIGN_KEY_NAME,
        ),
    ],
    ids=[
        "time-back",
        "made-up-previous-time",
        "no-previous",
        "wrong-previous-seq",
        "half-null",
        "gap",
    ],
)
def test_the_database_refuses_an_event_whose_time_goes_back(forged, constraint):
    """By any role short of a superuser: the user triggers lifted (as the tables' owner may)
    change nothing."""
    _postgresql()
    _record(3)
    row = forged()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        row.save()
    assert AuditEvent.objects.count() == 3


def test_an_honest_event_inserted_by_hand_is_let_in():
    """The constraints refuse what breaks the order, not a plain INSERT as such."""
    _postgresql()
    _record(2)
    _forged().save()
    assert verify.verify_chain().ok


# --- What verify trusts (PostgreSQL) ------------------------------------------------------------


def test_the_constraints_in_the_catalog_are_the_ones_verify_expects():
    _postgresql()
    # The test database was migrated empty: only event 1 may have no previous event.
    assert _catalog() == (1, "")


def test_with_the_guarantee_the_walk_does_not_test_each_time(monkeypatch):
    _postgresql()
    _record(4)
    sent = _streamed(monkeypatch)
    assert verify.verify_chain().ok
    assert sent
    assert not any("lag(" in query for query in sent)


@pytest.mark.parametrize(
    "lift",
    [
        "ALTER TABLE audit_auditevent DROP CONSTRAINT audit_time_after_previous",
        "ALTER TABLE audit_auditevent DROP CONSTRAINT audit_previous_event",
        # Re-added NOT VALID: the catalog says the rows were never checked.
        "ALTER TABLE audit_auditevent DROP CONSTRAINT audit_previous_event; "
        "ALTER TABLE audit_auditevent ADD CONSTRAINT audit_previous_event FOREIGN KEY "
        "(previous_seq, previous_time) REFERENCES audit_auditevent (seq, time) MATCH FULL "
        "NOT VALID",
        # A weaker CHECK under the same name (the time test left out).
        "ALTER TABLE audit_auditevent DROP CONSTRAINT audit_time_after_previous; "
        "ALTER TABLE audit_auditevent ADD CONSTRAINT audit_time_after_previous CHECK "
        "(((previous_seq IS NULL AND previous_time IS NULL AND seq <= 1) OR "
        "(previous_seq = seq - 1)) IS TRUE)",
        # The foreign key's triggers switched off (a superuser's ALTER TABLE).
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    ],
    ids=["check-dropped", "foreign-key-dropped", "not-valid", "weaker-check", "triggers-disabled"],
)
def test_without_the_guarantee_verify_names_a_time_going_back(monkeypatch, lift):
    """As before the constraints: the walk tests every event's time, and names the forged one."""
    _postgresql()
    _record(3)
    with connection.cursor() as cursor:
        cursor.execute(lift)
    assert _catalog()[0] is None
    seq = AuditEvent.objects.count() + 1
    back = datetime(2020, 1, 1, tzinfo=UTC)
    if "TRIGGER" in lift:  # the CHECK still holds: a previous time made up to pass it
        _forged(time=back, previous=(seq - 1, back - timedelta(days=1))).save()
    else:
        with connection.cursor() as cursor:  # the one constraint left would refuse it
            for sql in timeorder.drop_sql():
                cursor.execute(sql)
        _forged(time=back).save()
    _record(1)
    sent = _streamed(monkeypatch)
    lines = _verify_lines()
    assert lines[0].startswith(f"Audit log broken at sequence number {seq}: its time ")
    assert FORGED_SAYS in lines[0]
    assert any("lag(" in query for query in sent)


def test_the_triggers_disabled_are_not_trusted():
    _postgresql()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
    assert _catalog() == (
        None,
        f"the triggers of the constraint {timeorder.FOREIGN_KEY_NAME} are not all enabled",
    )


def test_the_judge_refuses_what_is_not_exactly_the_constraints():
    check = timeorder.EXPECTED_FOREIGN_KEY  # any text that is not the CHECK
    good_check = (
        "CHECK (((((previous_seq IS NULL) AND (previous_time IS NULL) AND (seq <= 7)) OR "
        '((previous_seq = (seq - 1)) AND ("time" >= previous_time))) IS TRUE))'
    )
    big_check = good_check.replace("(seq <= 7)", "(seq <= '5000000000'::bigint)")
    fk = timeorder.EXPECTED_FOREIGN_KEY
    assert timeorder.judge(True, good_check, True, fk, True) == (7, "")
    assert timeorder.judge(True, big_check, True, fk, True) == (5_000_000_000, "")
    assert timeorder.judge(True, check, True, fk, True)[0] is None
    assert timeorder.judge(False, good_check, True, fk, True)[0] is None
    assert timeorder.judge(None, None, True, fk, True)[0] is None
    assert timeorder.judge(True, good_check, True, fk + " DEFERRABLE", True)[0] is None
    assert timeorder.judge(True, good_check, False, fk, True)[0] is None
    assert timeorder.judge(True, good_check, True, fk, None)[0] is None
    assert (
        timeorder.judge(True, good_check.replace("seq - 1", "seq - 2"), True, fk, True)[0] is None
    )


# --- A log that held events before the migration (PostgreSQL) -----------------------------------


def _as_before_the_migration(events: int) -> None:
    """The log as audit.0008 left it: no constraints, the append function that leaves the
    previous event's columns empty, `events` events appended by it."""
    with connection.cursor() as cursor:
        for sql in timeorder.drop_sql():
            cursor.execute(sql)
        cursor.execute(append_function.UNLINKED_CREATE_SQL)
    _record(events)


def _migrate() -> None:
    from importlib import import_module

    migration = import_module("madoguchi.audit.migrations.0009_time_order_kept_at_append")
    with connection.schema_editor(atomic=False) as editor:
        migration.link(None, editor)


def test_the_migration_leaves_the_events_before_it_as_they_were_and_links_the_rest(monkeypatch):
    _postgresql()
    _as_before_the_migration(3)
    before = list(AuditEvent.objects.order_by("seq").values_list("seq", "canonical", "leaf_hash"))
    _migrate()
    assert _catalog() == (3, "")
    _record(2)
    rows = list(
        AuditEvent.objects.order_by("seq").values_list(
            "seq", "canonical", "leaf_hash", "previous_seq"
        )
    )
    assert [(seq, bytes(c), leaf) for seq, c, leaf, _ in rows[:3]] == [
        (seq, bytes(c), leaf) for seq, c, leaf in before
    ]  # not updated: the canonical bytes and hashes as they were
    assert [previous for *_, previous in rows] == [None, None, None, 3, 4]
    sent = _streamed(monkeypatch)
    assert verify.verify_chain().ok
    # The events before the migration with the time test, the rest without.
    assert len(sent) == 2
    assert "lag(" in sent[0]
    assert "lag(" not in sent[1]


def test_a_time_going_back_before_the_migration_is_still_named():
    """The constraints vouch only for the events after the log's head when they were added."""
    _postgresql()
    _as_before_the_migration(3)
    _forged(time=datetime(2020, 1, 1, tzinfo=UTC), previous=None).save()
    _record(1)
    _migrate()
    assert _catalog() == (5, "")
    _record(2)
    lines = _verify_lines()
    assert lines[0].startswith("Audit log broken at sequence number 4: its time 2020-01-01")
