"""Issue 15, faults: 200 signed completions racing to link one payment account.

Three residents at 200 desks, each with an open visit, a prepared point application for the
same account and a completion signed by the resident's card, all committed at once by a pool of
threads (the shared PostgreSQL server allows a few dozen connections per test run, so at most
`POOL` commits are in the database at any moment). Residents A and B apply in one programme, C
in another (an account belongs to one resident across programmes; the same resident's second
completion in a programme is refused too). Exactly one completion wins; every other attempt
gets the clean refusal `account_already_linked` (English in the API, Japanese at the desk), and
nothing else: no deadlock, no serialization failure, no other error, no partial procedure.

The lock order (docs/audit.md, "Lock order"): a transaction takes its row locks first and the
audit log's head lock last, once, at COMMIT (ADR 1500). `test_one_completion_locks_rows_before
_the_audit_head` checks a linking completion against that rule; the storm checks that the
database saw no deadlock at all (`pg_stat_database.deadlocks` of the test database).
"""

from __future__ import annotations

import queue
import threading

import pytest
from django.conf import settings
from django.db import connection

from madoguchi.audit.verify import verify_chain
from madoguchi.benefits.models import AccountClaim, PaymentLink
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Completion, Procedure
from madoguchi.identity import services as identity
from madoguchi.refusals import Refusal
from tests.benefits import builders
from tests.benefits.conftest import (
    ORIGIN,
    apply_fields,
    make_providers,
    new_desk,
    prepare,
    sign,
    start_visit,
)
from tests.lockorder import LockOrder

ATTEMPTS = 200
POOL = 16
ACCOUNT = {"psid": "7010000000000003", "code": "890", "kana": "スズキ イチロウ"}


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@pytest.mark.postgres_only
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only"
)
@pytest.mark.django_db(transaction=True)
def test_200_desks_linking_one_account_exactly_one_wins_the_rest_are_refused_cleanly(
    pki, systems, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("the storm is about PostgreSQL's row locks")
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    city = builders.programme()
    plan = [("A", "mynapoint-2"), ("B", "mynapoint-2"), ("C", city.code)]
    signed = []
    for i in range(ATTEMPTS):
        card_name, programme = plan[i % len(plan)]
        card = pki.card(card_name)
        desk = new_desk()
        start_visit(desk, card)
        prepare(desk, **apply_fields(**ACCOUNT, programme=programme))
        ch, token = sign(desk, card)
        signed.append((desk, ch.nonce.value, token))
    deadlocks_before = _deadlocks()
    connection.close()  # every connection that follows is a worker's

    work: queue.Queue[tuple[object, str, str]] = queue.Queue()
    for item in signed:
        work.put(item)
    go = threading.Event()
    lock = threading.Lock()
    wins: list[Completion] = []
    refusals: list[Refusal] = []
    other: list[BaseException] = []

    def worker() -> None:
        go.wait()
        try:
            while True:
                try:
                    desk, nonce, token = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    done = desk_services.completion_commit(
                        desk_session=desk, token=token, nonce=nonce
                    )
                except Refusal as exc:
                    with lock:
                        refusals.append(exc)
                except BaseException as exc:  # a deadlock, a serialization failure, a bug
                    with lock:
                        other.append(exc)
                else:
                    with lock:
                        wins.append(done)
        finally:
            connection.close()  # also flushes this backend's statistics

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(POOL)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a commit hung"

    assert not other, [repr(e) for e in other[:5]]
    assert len(wins) == 1, wins
    assert len(refusals) == ATTEMPTS - 1
    assert {r.code for r in refusals} == {"account_already_linked"}
    for r in refusals:
        assert r.message_en, r.code
        assert str(r.message_en).isascii(), r.message_en
        assert r.message_ja
    assert _deadlocks() == deadlocks_before
    # Nothing half-written: one completion, one link, one claim, one committed procedure.
    assert Completion.objects.count() == 1
    link = PaymentLink.objects.get()
    assert AccountClaim.objects.get().holder_id == link.holder_id
    committed = Procedure.objects.filter(status=ProcedureStatus.COMMITTED)
    assert list(committed.values_list("pk", flat=True)) == [link.procedure_id]
    assert verify_chain().ok


@pytest.mark.usefixtures("providers", "systems")
def test_one_completion_locks_rows_before_the_audit_head(trusted, desk):
    """The rule the storm relies on, checked on one linking completion (both databases)."""
    card = trusted.card("B")
    start_visit(desk, card)
    prepare(desk, **apply_fields(**ACCOUNT))
    ch, token = sign(desk, card)
    with LockOrder() as order:
        desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    order.assert_rows_before_audit()
    assert any(label == "audit" for label, _ in order.events)
    assert PaymentLink.objects.count() == 1
