"""The same completion sent again after a 503 (nothing committed: the 503 invites the retry), and
two identical completion posts at once: neither is a replay that ends the visit (probe V). The
challenge is spent in the commit's own transaction, so a commit that did not happen leaves it
unspent, and a second post waits on the first's spend, then finds its completion. And the same
request again is the same completion only while its challenge is still valid."""

import datetime
import threading
import time

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Completion, Visit
from madoguchi.desk.services import completion as completion_service
from madoguchi.identity import services as identity
from madoguchi.identity.models import Nonce
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.desk.test_completion_retry import (
    COMPLETE,
    _prepare,
    _signed_completion,
)
from tests.desk.test_text_rules import ORIGIN, _start, staff_client  # noqa: F401 -- fixture
from tests.visits import sign_completion, start_visit


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_the_same_completion_sent_again_after_a_503_is_not_refused_as_a_replay(
    trusted,
    staff_client,  # noqa: F811
    monkeypatch,
):
    """The 503 of every operation (OpenAPI) says "nothing was saved … send the same request
    again after Retry-After seconds". For POST /complete the challenge was spent in its own
    committed statement before the commit's transaction met the deadlock: the same request
    again found a used challenge and no completion, and was refused as a replay (403
    `nonce_used`), the visit ended `completion_refused`, a HIGH incident recorded."""
    card = trusted.card("A")
    visit = _start(staff_client, card)
    body = _signed_completion(staff_client, card, visit)
    real = completion_service._write_completion
    calls = []

    def deadlocked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from _Deadlock()
        return real(*args, **kwargs)

    monkeypatch.setattr(completion_service, "_write_completion", deadlocked_once)
    staff_client.raise_request_exception = False
    first = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )
    assert first.status_code == 503, first.content
    assert first.json()["code"] == "database_conflict"
    assert not Completion.objects.exists()

    again = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )

    visit.refresh_from_db()
    assert visit.ended_at is None, (again.status_code, again.json(), visit.end_reason)
    assert not Incident.objects.exists(), list(Incident.objects.values_list("reason_code"))
    assert again.status_code == 200, again.content
    assert Completion.objects.filter(visit=visit).count() == 1
    # Once committed, the challenge is spent: the same body a third time is that completion.
    third = staff_client.post(
        COMPLETE, body, content_type="application/json", HTTP_X_MADOGUCHI_VISIT=visit.reference
    )
    assert third.status_code == 200, third.content
    assert third.json() == again.json()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
def test_two_identical_completion_posts_at_once_never_end_the_visit(pki, settings, monkeypatch):
    """A double submit (or a client's quick retry): the second request arrives after the first
    spent the challenge but before the first took the visit's lock. The second found no
    completion yet and was treated as a replay: it ended the visit `completion_refused` with a
    HIGH incident, and then the genuine first request was refused `visit_ended`. Both refused,
    nothing committed. Now the second waits for the first's spend, then gets its completion."""
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
    second: list[object] = []

    def second_post() -> None:
        try:
            second.append(
                services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
            )
        except Exception as exc:  # the test reads it
            second.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=second_post)
    real = completion_service._challenged_visit_locked

    def second_arrives_first(*args, **kwargs):
        if not thread.is_alive() and not second:
            thread.start()
            _until_it_waits_or_ends(thread)
        return real(*args, **kwargs)

    monkeypatch.setattr(completion_service, "_challenged_visit_locked", second_arrives_first)
    try:
        first = services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    except Exception as exc:
        first = exc
    thread.join()
    visit = Visit.objects.get(pk=visit.pk)
    assert visit.end_reason != VisitEndReason.COMPLETION_REFUSED, (first, second)
    assert not Incident.objects.exists(), (first, second)
    assert Completion.objects.count() == 1, (first, second)
    assert isinstance(first, Completion), first
    assert isinstance(second[0], Completion), second
    assert second[0].pk == first.pk, second


def _until_it_waits_or_ends(thread: threading.Thread) -> None:
    """Until the thread's request waits on a lock (pg_stat_activity) or is done."""
    with connection.cursor() as cursor:
        while thread.is_alive():
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)


def test_the_same_request_after_its_challenge_expired_is_a_replay(trusted, desk):
    """The same request again gave the completion back however late: past the challenge's
    validity it is refused as any used challenge is."""
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    Nonce.objects.filter(pk=ch.nonce.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(Refusal) as exc:
        services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert exc.value.code in ("nonce_used", "nonce_expired")
    assert Completion.objects.count() == 1
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.COMPLETION_REFUSED
