"""A completion sent again after its answer was lost (a client's retry after a timeout): the same
request (its challenge and, byte for byte, its signed tokens) gets the completion it committed
back, not a replay's refusal that ended the visit with a HIGH incident; anything else over a
used challenge is refused as before. And `visit_ended` never says "nothing was committed" of a
visit whose completion is committed (probe L)."""

import base64
import json
import threading

import pytest
from django.db import connection

from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.events import VISITS_COMPLETION_REFUSED
from madoguchi.desk.models import Completion, Visit
from madoguchi.desk.services import completion as completion_service
from madoguchi.identity import services as identity
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from tests import cardkit, checklistkit, factories
from tests.desk.test_text_rules import ORIGIN, _start, staff_client  # noqa: F401 -- fixture
from tests.visits import sign_completion, start_visit

PREPARE = "/api/v1/visits/current/procedures"
CHALLENGE = "/api/v1/visits/current/completion-challenge"
COMPLETE = "/api/v1/visits/current/complete"


def _signed_completion(client, card, visit):
    """Prepare a stand-in procedure, tick the checklist, take the challenge and sign it over
    the API, as the desk page does; the body of POST /complete."""
    r = client.post(
        PREPARE,
        json.dumps({"kind": "test_link", "fields": {"account": "PAY-1", "points": 5}}),
        content_type="application/json",
        HTTP_X_MADOGUCHI_VISIT=visit.reference,
    )
    assert r.status_code == 200, r.content
    checklistkit.tick_before(client.desk)
    r = client.post(CHALLENGE, HTTP_X_MADOGUCHI_VISIT=visit.reference)
    assert r.status_code == 200, r.content
    ch = r.json()
    token = cardkit.completion_token(card, ORIGIN, ch["nonce"], base64.b64decode(ch["transaction"]))
    return json.dumps({"token": token, "nonce": ch["nonce"]})


def _prepare(desk, account="PAY-A-0001"):
    return services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": account, "points": 5000}
    )


def _nothing_refused(visit):
    visit.refresh_from_db()
    assert visit.ended_at is None, visit.end_reason
    assert not Incident.objects.exists(), list(Incident.objects.values_list("kind", "reason_code"))
    assert not AuditEvent.objects.filter(event_id=VISITS_COMPLETION_REFUSED.id).exists()


def test_a_completion_sent_again_after_its_answer_was_lost_gets_the_same_completion(
    trusted,
    staff_client,  # noqa: F811
):
    """It was answered 403 `nonce_used`, the visit ended `completion_refused` and a HIGH
    incident (a replay) went into the city's daily report: for the desk's own retry."""
    card = trusted.card("A")
    visit = _start(staff_client, card)
    body = _signed_completion(staff_client, card, visit)
    first = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )
    assert first.status_code == 200, first.content

    again = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )

    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert Completion.objects.filter(visit=visit).count() == 1
    _nothing_refused(visit)


def test_a_completion_retried_without_the_visit_header_is_never_told_nothing_was_committed(
    trusted,
    staff_client,  # noqa: F811
):
    """Without X-Madoguchi-Visit (allowed), twice more: the answers were "This challenge has
    already been used; start again." and then "The visit has ended; nothing was committed.",
    the visit's completion committed. A client told that keys the application in again."""
    card = trusted.card("A")
    visit = _start(staff_client, card)
    body = _signed_completion(staff_client, card, visit)
    first = staff_client.post(COMPLETE, body, content_type="application/json")
    assert first.status_code == 200, first.content
    answers = [staff_client.post(COMPLETE, body, content_type="application/json") for _ in range(2)]
    for r in answers:
        assert r.status_code == 200, r.content
        assert r.json()["transaction_digest"] == first.json()["transaction_digest"]
    assert Completion.objects.filter(visit=visit).count() == 1
    _nothing_refused(visit)


def test_a_retry_after_the_visit_ended_gets_the_completion_back(trusted, desk):
    """The answer lost, the resident gone (the visit ended at "next resident"), the client
    retries: the completion it committed, not `visit_ended`."""
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    first = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    again = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert again.pk == first.pk
    assert not Incident.objects.filter(kind=IncidentKind.COMPLETION_REFUSED).exists()
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.NEXT_RESIDENT


@pytest.mark.parametrize("change", ["another_card", "second_token", "token_altered"])
def test_anything_but_the_same_request_over_a_used_challenge_is_still_a_replay(
    trusted, desk, change
):
    """Only a byte-identical retry of the committed completion is one: another card's token
    over the same challenge and bytes, a second token added, a token changed are refused as
    before (`nonce_used`; the changed token is no token at all), the visit ended and an
    incident recorded."""
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    second = ""
    if change == "another_card":
        token = cardkit.completion_token(
            trusted.card("B"), ORIGIN, ch.nonce.value, ch.transaction_bytes
        )
    elif change == "second_token":
        second = token
    else:
        token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(Refusal) as exc:
        services.completion_commit(
            desk_session=desk, token=token, nonce=ch.nonce.value, second_token=second
        )
    assert exc.value.code == ("not_json" if change == "token_altered" else "nonce_used")
    assert Completion.objects.count() == 1
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.COMPLETION_REFUSED
    assert Incident.objects.get().reason_code == exc.value.code


def test_a_challenge_used_by_a_refused_completion_is_not_a_completion_to_give_back(trusted, desk):
    """The first request was refused (another card signed): the same request again finds no
    completion of its challenge, and is refused (its visit ended with the first refusal)."""
    start_visit(desk, trusted.card("A"))
    _prepare(desk)
    ch, token = sign_completion(desk, trusted.card("B"))
    for code in ("certificate_mismatch", "visit_ended"):
        with pytest.raises(Refusal) as exc:
            services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
        assert exc.value.code == code
    assert not Completion.objects.exists()


# --- `visit_ended` says what the visit holds ---------------------------------------------------


def test_visit_ended_says_a_completion_the_visit_had_stands(trusted, desk):
    """A second completion's challenge, signed, then the visit ends: the refusal said "nothing
    was committed", and the visit's first completion was."""
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    first = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    _prepare(desk, account="PAY-A-0002")
    ch, token = sign_completion(desk, card)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    with pytest.raises(Refusal) as exc:
        services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    refusal = exc.value
    assert refusal.code == "visit_ended"
    assert refusal.status == 409
    at = f"{first.committed_at.astimezone().strftime('%H:%M')}"
    assert "nothing was committed" not in refusal.message_en
    assert "nothing more can be committed" in refusal.message_en
    assert at in refusal.message_en
    assert "確定は行われませんでした" not in refusal.message_ja
    assert "そのまま有効" in refusal.message_ja
    assert at in refusal.message_ja
    assert Completion.objects.filter(visit=visit).count() == 1


def test_visit_ended_of_a_visit_with_no_completion_says_nothing_more_can_be_committed(
    trusted, desk
):
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    with pytest.raises(Refusal) as exc:
        services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert exc.value.code == "visit_ended"
    assert exc.value.message_en == "The visit has ended; nothing more can be committed in it."
    assert "確定は行われませんでした" not in exc.value.message_ja


# --- the retry while the first request is still committing ------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
def test_a_retry_arriving_while_the_first_still_commits_waits_and_gets_its_completion(
    pki, settings, monkeypatch
):
    """The retry comes while the first request holds the visit's lock, its challenge spent in
    that request's transaction: it waits for the challenge's row, then finds the completion."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    card = pki.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    retried: list[object] = []

    def retry() -> None:
        try:
            retried.append(
                services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
            )
        except Exception as exc:  # the test reads it
            retried.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=retry)
    real = completion_service._write_completion

    def retry_meanwhile(*args, **kwargs):
        written = real(*args, **kwargs)
        thread.start()
        _wait_for_a_lock_wait()
        return written

    monkeypatch.setattr(completion_service, "_write_completion", retry_meanwhile)
    first = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    thread.join()
    assert isinstance(retried[0], Completion), retried
    assert retried[0].pk == first.pk
    assert Completion.objects.count() == 1
    assert Visit.objects.get(pk=visit.pk).ended_at is None
    assert not Incident.objects.exists()


def _wait_for_a_lock_wait() -> None:
    """Until another connection of this database waits on a lock (pg_stat_activity)."""
    import time

    from django.db import connections

    with connections["default"].cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the retry never waited for a lock")
