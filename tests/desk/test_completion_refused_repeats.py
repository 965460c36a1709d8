"""A completion posted again and again to a visit that has ended (a client retrying with a stale
token, someone posting copied bodies with a desk session) recorded a new HIGH
`completion_refused` incident each time: one desk's client flooded the city's daily report and
the officials' incident lists, hiding the incidents that matter. The refusal that ends the visit,
and the first of each reason after it, is an incident as before; the same reason again that day
is an `incidents.completion_refused_again` event on that incident (the lists say how many times
and when last, the daily report counts one), and every attempt is still a
`visits.completion_refused` audit event (side doors, round 21)."""

import base64
import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.events import VISITS_COMPLETION_REFUSED
from madoguchi.desk.services import completion as completion_service
from madoguchi.desk.services.visits import VisitRefused
from madoguchi.identity import services as identity
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.reports import services as reports
from madoguchi.terminals import services as terminal_services
from tests import cardkit, checklistkit, factories, racekit
from tests.desk.test_text_rules import ORIGIN, _start, staff_client  # noqa: F401 -- fixture
from tests.visits import sign_completion, start_visit

PREPARE = "/api/v1/visits/current/procedures"
CHALLENGE = "/api/v1/visits/current/completion-challenge"
COMPLETE = "/api/v1/visits/current/complete"
AGAIN = "incidents.completion_refused_again"


def _refused():
    return Incident.objects.filter(kind=IncidentKind.COMPLETION_REFUSED)


def _again_on(incident):
    return AuditEvent.objects.filter(event_name=AGAIN, subject_id=str(incident.pk))


def _attempts(visit):
    return AuditEvent.objects.filter(
        event_id=VISITS_COMPLETION_REFUSED.id, subject_id=str(visit.pk)
    )


def _prepare(desk, account="PAY-A-0001"):
    return services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": account, "points": 5000}
    )


def _text(html):
    return unescape(re.sub(r"<[^>]*>", " ", html))


def test_a_stale_completion_posted_again_after_the_visit_ended_is_counted_on_one_incident(
    trusted,
    staff_client,  # noqa: F811
):
    """The client's body, signed by another card, posted five times: the first refusal ends
    the visit (`certificate_mismatch`), the second is the first `visit_ended` (its own
    incident: another reason), the three after it were three more HIGH incidents."""
    visit = _start(staff_client, trusted.card("A"))
    r = staff_client.post(
        PREPARE,
        json.dumps({"kind": "test_link", "fields": {"account": "PAY-1", "points": 5}}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    checklistkit.tick_before(staff_client.desk)
    ch = staff_client.post(CHALLENGE).json()
    token = cardkit.completion_token(
        trusted.card("B"), ORIGIN, ch["nonce"], base64.b64decode(ch["transaction"])
    )
    body = json.dumps({"token": token, "nonce": ch["nonce"]})
    codes = []
    for _ in range(5):
        r = staff_client.post(COMPLETE, body, content_type="application/json")
        assert r.status_code >= 400, r.content
        codes.append(r.json()["code"])
    assert codes == ["certificate_mismatch"] + ["visit_ended"] * 4

    assert sorted(_refused().values_list("reason_code", flat=True)) == [
        "certificate_mismatch",
        "visit_ended",
    ]
    assert all(i.severity == Severity.HIGH for i in _refused())
    ended = _refused().get(reason_code="visit_ended")
    assert _again_on(ended).count() == 3
    assert not _again_on(_refused().get(reason_code="certificate_mismatch")).exists()
    # Each attempt is still in the audit log, with its code.
    assert sorted(_attempts(visit).values_list("payload__code", flat=True)) == sorted(codes)
    assert Incident.objects.filter(kind=IncidentKind.VISIT_ENDED_WITH_PENDING).count() == 1

    with translation.override("ja"):
        content = reports.build_daily(visit.terminal, timezone.localdate())
    assert content["counts"]["refusals"] == {
        "completion_refused:certificate_mismatch": 1,
        "completion_refused:visit_ended": 1,
    }
    assert content["counts"]["incidents"]["completion_refused"] == 2

    last = _again_on(ended).order_by("-seq").first().time
    at = timezone.localtime(last).strftime("%H:%M:%S")
    reader = Client()
    reader.force_login(factories.staff(Role.SUPERVISOR))
    for url in (
        reverse("incidents:list") + "?reason=daily_check",
        "/officials/incidents/?reason=daily_check",
        reverse("incidents:detail", args=[ended.pk]) + "?reason=daily_check",
    ):
        with translation.override("ja"):
            page = reader.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert page.status_code == 200, (url, page.status_code)
        read = _text(page.content.decode())
        assert f"この理由で 4 回拒否されました（最後は {at}）" in read, (url, read)
        if "detail" not in url:
            assert read.count("4 回拒否") == 1, url  # the first refusal's row says nothing


def test_a_visit_ended_elsewhere_records_its_first_stale_completion_then_counts_the_rest(
    trusted, desk
):
    """The visit ended at 「次の方」 before the signed completion arrived: the first refusal
    is an incident as before (what the city is to see), each one after it is counted on it."""
    card = trusted.card("A")
    visit = start_visit(desk, card)
    _prepare(desk)
    ch, token = sign_completion(desk, card)
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    for _ in range(3):
        with pytest.raises(Refusal) as exc:
            services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
        assert exc.value.code == "visit_ended"
    incident = _refused().get()
    assert incident.visit_id == visit.pk
    assert incident.severity == Severity.HIGH
    assert _again_on(incident).count() == 2
    assert _attempts(visit).count() == 3
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.NEXT_RESIDENT


def test_another_reason_after_the_visit_ended_is_an_incident_of_its_own(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    for code in ("nonce_expired", "signature_invalid", "nonce_expired", "signature_invalid"):
        completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)
        completion_service._refuse_completion(desk, Refusal(code), visit.pk)
    assert sorted(_refused().values_list("reason_code", flat=True)) == [
        "nonce_expired",
        "signature_invalid",
        "visit_ended",
    ]
    assert [_again_on(i).count() for i in _refused().order_by("reason_code")] == [1, 1, 3]
    assert _attempts(visit).count() == 8


def test_a_repeat_on_a_later_day_is_that_days_incident(trusted, desk):
    """Counted within the city's day: the next day's report and list show it, the earlier
    day's incident keeps its own count."""
    visit = start_visit(desk, trusted.card("A"))
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)
    _refused().update(occurred_at=timezone.now() - timedelta(days=1))
    completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)
    completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)
    yesterday, today = _refused().order_by("occurred_at")
    assert not _again_on(yesterday).exists()
    assert _again_on(today).count() == 1


def test_a_refusal_without_a_visit_is_recorded_as_before(desk):
    """No visit to count it on (no open visit at the desk): an incident each, as before."""
    for _ in range(2):
        completion_service._refuse_completion(desk, Refusal("nonce_unknown"), None)
    assert _refused().count() == 2


def test_a_repeated_refusal_costs_no_more_statements_than_the_first(trusted, desk):
    visit = start_visit(desk, trusted.card("A"))
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    counted = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as q:
            completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)
        counted.append(len(q.captured_queries))
    assert counted[1] <= counted[0], counted


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
def test_two_repeats_at_once_record_one_incident(pki, settings):
    """Looked up and recorded under the visit's lock: two refusals at the same moment of a
    visit already ended are one incident and one repeat, not two incidents."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    visit = start_visit(desk, pki.card("A"))
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)

    def refuse():
        return completion_service._refuse_completion(desk, VisitRefused.of("visit_ended"), visit.pk)

    racekit.at_once(completion_service, "incident_record", refuse, refuse)
    incident = _refused().get()
    assert _again_on(incident).count() == 1
    assert _attempts(visit).count() == 2
