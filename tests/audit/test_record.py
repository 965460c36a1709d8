"""audit.record(): transaction rules, registry checks, what is stored."""

import pytest
from django.db import transaction

from madoguchi.accounts.models import User
from madoguchi.audit import events
from madoguchi.audit import services as audit
from madoguchi.audit.canonical import GENESIS, canonical_bytes, chain_hash
from madoguchi.audit.merkle import leaf_hash
from madoguchi.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


class FakeTerminal:
    def __init__(self, pk, name):
        self.pk = pk
        self.name = name

    def __str__(self):
        return self.name


@pytest.mark.django_db(transaction=True)
def test_record_outside_atomic_is_refused():
    assert not transaction.get_connection().in_atomic_block
    with pytest.raises(audit.AuditError, match=r"inside transaction\.atomic"):
        audit.record("accounts.signed_in")
    assert not AuditEvent.objects.exists()
    with transaction.atomic():
        audit.record("accounts.signed_in")
    assert AuditEvent.objects.count() == 1


def test_record_inside_atomic_stores_fields_and_chain():
    user = User.objects.create_user("tanaka", password="x" * 12, display_name="田中")
    with transaction.atomic():
        first = audit.record(
            "accounts.signed_in",
            actor=user,
            terminal=FakeTerminal(7, "窓口1"),
            subject=user,
            payload={"method": "password"},
        )
        second = audit.record(events.ACCOUNTS_SIGNED_OUT, actor=user, subject=("cases.case", 42))
    assert (first.seq, second.seq) == (1, 2)
    stored = AuditEvent.objects.get(seq=1)
    assert stored.event_id == 1001
    assert stored.event_name == "accounts.signed_in"
    assert stored.actor_id == str(user.pk)
    assert stored.actor_label == "田中 (tanaka)"
    assert (stored.terminal_id, stored.terminal_label) == ("7", "窓口1")
    assert (stored.subject_type, stored.subject_id) == ("accounts.user", str(user.pk))
    assert stored.payload == {"method": "password"}
    assert stored.time.tzinfo is not None
    leaf1 = leaf_hash(canonical_bytes(stored.as_record()))
    assert stored.leaf_hash == leaf1.hex()
    assert stored.chain_hash == chain_hash(GENESIS, leaf1).hex()
    stored2 = AuditEvent.objects.get(seq=2)
    assert (stored2.subject_type, stored2.subject_id) == ("cases.case", "42")
    assert stored2.terminal_id == ""
    leaf2 = leaf_hash(canonical_bytes(stored2.as_record()))
    assert stored2.chain_hash == chain_hash(bytes.fromhex(stored.chain_hash), leaf2).hex()


def test_rollback_drops_the_event():
    def change_that_fails():
        with transaction.atomic():
            audit.record("accounts.signed_in")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert not AuditEvent.objects.exists()
    with transaction.atomic():
        event = audit.record("accounts.signed_in")
    assert event.seq == 1


def test_unregistered_event_is_refused():
    with transaction.atomic(), pytest.raises(audit.AuditError, match="Unknown audit event"):
        audit.record("accounts.did_something_unregistered")
    assert not AuditEvent.objects.exists()


def test_unregistered_event_type_object_is_refused():
    stray = events.EventType(1999, "accounts.stray", ja="x", en="x")
    with transaction.atomic(), pytest.raises(audit.AuditError, match="not registered"):
        audit.record(stray)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"pin": "1234"}, "PINs"),
        ({"card": {"signing_pin": "x"}}, "PINs"),
        ({"individual_number": "x"}, "individual numbers"),
        ({"myNumber": "x"}, "individual numbers"),
        ({"note": "123456789012"}, "12-digit"),
        ({"values": ["123456789012"]}, "12-digit"),
        ({"x": float("nan")}, "refused"),
        ({"x": object()}, "refused"),
        ({"x": 2**60}, "refused"),
    ],
)
def test_payloads_that_must_not_be_logged_are_refused(payload, reason):
    with transaction.atomic(), pytest.raises(audit.AuditError, match=reason):
        audit.record("accounts.signed_in", payload=payload)


def test_anonymous_actor_is_recorded_as_system():
    from django.contrib.auth.models import AnonymousUser

    with transaction.atomic():
        event = audit.record("accounts.sign_in_failed", actor=AnonymousUser())
    assert (event.actor_id, event.actor_label) == ("", "")


def test_bad_subject_is_refused():
    with transaction.atomic(), pytest.raises(audit.AuditError, match="subject"):
        audit.record("accounts.signed_in", subject=("", "1"))
    with transaction.atomic(), pytest.raises(audit.AuditError, match="subject"):
        audit.record("accounts.signed_in", subject=User(username="unsaved"))


def test_saved_rows_cannot_be_changed_or_deleted_through_the_orm():
    with transaction.atomic():
        event = audit.record("accounts.signed_in")
    event.payload = {"changed": True}
    with pytest.raises(Exception, match="append-only"):
        event.save()
    with pytest.raises(Exception, match="append-only"):
        event.delete()
    with pytest.raises(Exception, match="append-only"):
        AuditEvent.objects.filter(seq=1).update(payload={})
    with pytest.raises(Exception, match="append-only"):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(seq=1).payload == {}
