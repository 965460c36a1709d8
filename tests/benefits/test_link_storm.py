"""Issue 15, faults: 200 signed completions racing to link one payment account.

Three residents at 200 desks, each with an open visit, a prepared point application for the
same account and a completion signed by the resident's card, all committed at once by a pool of
threads (the shared PostgreSQL server allows a few dozen connections per test run, so at most
`POOL` commits are in the database at any moment). Residents A and B apply in one programme, C
in another (an account belongs to one resident across programmes; the same resident's second
completion in a programme is refused too). Exactly one completion wins; every other attempt
gets the clean refusal `account_already_linked` (English in the API, Japanese at the desk), and
nothing else: no deadlock, no serialization failure, no other error, no partial procedure.

The same race over real HTTP (`test_desks_linking_one_account_over_http_...`, fewer desks: each
signs in through its browser first): one 200, every other answer the documented 409 with
`account_already_linked`, never a 5xx.

The lock order (docs/audit.md, "Lock order"): a transaction takes its row locks first and the
audit log's head lock last, once, at COMMIT (ADR 1500). `test_one_completion_locks_rows_before
_the_audit_head` checks a linking completion against that rule; the storm checks that the
database saw no deadlock at all (`pg_stat_database.deadlocks` of the test database).
"""

from __future__ import annotations

import queue
import threading
from collections import Counter

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


def _all_at_once(target, pool: int, go: threading.Event, hung: str) -> None:
    """``pool`` threads run ``target``, released together by ``go``; each must end (bounded)."""
    threads = [threading.Thread(target=target, daemon=True) for _ in range(pool)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), hung


def _storm_setup(pki, settings) -> list[tuple[str, str]]:
    """The trusted test CA, the providers and a city programme; which card applies in which
    programme, attempt by attempt (A and B in one programme, C in another)."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    city = builders.programme()
    return [("A", "mynapoint-2"), ("B", "mynapoint-2"), ("C", city.code)]


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
    plan = _storm_setup(pki, settings)
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

    _all_at_once(worker, POOL, go, "a commit hung")

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


HTTP_ATTEMPTS = 24  # each desk signs in over HTTP first: the 200 stay in the test above
HTTP_POOL = 12


@pytest.mark.postgres_only
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="PostgreSQL only"
)
@pytest.mark.django_db(transaction=True)
def test_desks_linking_one_account_over_http_get_one_success_and_clean_refusals(
    live_server, pki, systems, settings
):
    """The storm as desks meet it, over real HTTP: desks enrolled and signed in through their
    browsers (the API's cookie, CSRF token and browser binding), the visits prepared and signed
    as above, and every `POST /api/v1/visits/current/complete` sent at once by a pool of
    clients. One answer is 200; every other is the documented 409 refusal with the code
    `account_already_linked` and an English message; no 5xx, no other code."""
    import httpx

    from madoguchi.terminals.models import DeskSession
    from tests import factories, httpdesk

    plan = _storm_setup(pki, settings)
    base = live_server.url
    clients: list[httpx.Client] = []
    signed = []
    try:
        for i in range(HTTP_ATTEMPTS):
            terminal = factories.terminal()
            staff = factories.staff()
            http = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
            clients.append(http)
            httpdesk.enrol_and_sign_in(http, base, terminal, staff)
            desk = DeskSession.objects.get(staff=staff, terminal=terminal, closed_at__isnull=True)
            card_name, programme = plan[i % len(plan)]
            card = pki.card(card_name)
            start_visit(desk, card)
            prepare(desk, **apply_fields(**ACCOUNT, programme=programme))
            ch, token = sign(desk, card)
            signed.append((http, {"nonce": ch.nonce.value, "token": token}))
        deadlocks_before = _deadlocks()
        connection.close()

        work: queue.Queue[tuple[httpx.Client, dict[str, str]]] = queue.Queue()
        for item in signed:
            work.put(item)
        answers: list[httpx.Response] = []
        failures: list[BaseException] = []
        lock = threading.Lock()
        go = threading.Event()

        def client() -> None:
            go.wait()
            while True:
                try:
                    http, body = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    r = http.post(
                        "/api/v1/visits/current/complete",
                        json=body,
                        headers={
                            "X-CSRFToken": http.cookies.get("csrftoken") or "",
                            "Origin": base,
                            "Referer": base + "/",
                        },
                    )
                except BaseException as exc:  # a dropped connection, a timeout
                    with lock:
                        failures.append(exc)
                else:
                    with lock:
                        answers.append(r)

        _all_at_once(client, HTTP_POOL, go, "a request hung")
    finally:
        for http in clients:
            http.close()

    assert not failures, [repr(e) for e in failures[:5]]
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {200: 1, 409: HTTP_ATTEMPTS - 1}, (
        statuses,
        [r.text[:300] for r in answers if r.status_code not in (200, 409)][:3],
    )
    refusals = [r.json() for r in answers if r.status_code == 409]
    assert {body["code"] for body in refusals} == {"account_already_linked"}
    assert all(body["message"] and body["message"].isascii() for body in refusals)
    assert _deadlocks() == deadlocks_before
    assert Completion.objects.count() == 1
    assert PaymentLink.objects.count() == 1
    assert verify_chain().ok
