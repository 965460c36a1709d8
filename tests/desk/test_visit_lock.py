"""The visit a call names is compared again under the visit's lock, where the call acts.

The visit API's writing calls (`X-Madoguchi-Visit`) and the desk pages' forms (their `visit`
field) are checked against the desk's open visit before the service runs, in a read of their
own. Resident B's visit could start between that check and the service's transaction (another
tab, the card agent's event): the call then acted on B's visit. Each writing service now takes
the visit the call was made for and compares it after locking the visit it acts on
(`services.refuse_unless_expected`). The race is made deterministic here: the early check is
wrapped so that, once it has passed for A, A's visit ends and B's starts before the service runs.
docs/security.md, side doors round 14."""

import base64

import pytest
from django.contrib.messages import get_messages

from madoguchi.benefits.models import VisitRepresentative
from madoguchi.desk import api as desk_api
from madoguchi.desk import services
from madoguchi.desk import views as desk_views
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Procedure, Visit
from madoguchi.refusals import Refusal
from tests import cardkit, checklistkit
from tests.desk import test_stale_tab_api as stale_api
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
support_keys = stale_api.support_keys
_start = test_text_rules._start
_post = stale_api._post
_snapshot = stale_api._snapshot

FORM = "/desk/visit/procedures/test_link/"
SAID_FORM = "この画面は前の来庁のものです"


class NextVisitBetween:
    """Wraps an early check: after it has passed once, A's visit ends and B's starts, before
    the service the call acts through runs; `before` is what was recorded at that moment."""

    def __init__(self, client, b_card, a: Visit) -> None:
        self.client, self.b_card, self.a = client, b_card, a
        self.b: Visit | None = None
        self.before: tuple | None = None

    def switch(self) -> None:
        if self.b is not None:
            return
        desk = self.client.desk
        services.visit_end(visit=self.a, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)
        self.b = _start(self.client, self.b_card)
        self.before = _snapshot(self.b)


def _a_prepared(client, trusted):
    """A's visit as A's tab saw it: a pending procedure, the completion challenge signed."""
    a_card = trusted.card("A")
    a = _start(client, a_card)
    status, _ = _post(client, "/current/procedures", stale_api.PROCEDURE, visit=a.reference)
    assert status == 200
    checklistkit.tick_before(client.desk)
    status, ch = _post(client, "/current/completion-challenge", {}, visit=a.reference)
    assert status == 200, ch
    signed = cardkit.completion_token(
        a_card, stale_api.ORIGIN, ch["nonce"], base64.b64decode(ch["transaction"])
    )
    return a, a_card, {"token": signed, "nonce": ch["nonce"]}


@pytest.mark.parametrize("path", stale_api.WRITING_CALLS)
def test_a_visit_started_after_the_early_check_is_refused_under_the_lock(
    trusted, staff_client, support_keys, monkeypatch, path
):
    a, a_card, signed = _a_prepared(staff_client, trusted)
    between = NextVisitBetween(staff_client, trusted.card("B"), a)
    early = desk_api._refuse_for_another_visit

    def early_then_next_visit(request):
        early(request)  # passes: A is still the open visit
        between.switch()

    monkeypatch.setattr(desk_api, "_refuse_for_another_visit", early_then_next_visit)

    status, answer = _post(
        staff_client, path, stale_api._body(path, a_card, signed), visit=a.reference
    )

    assert between.b is not None  # the early check ran and passed, then B's visit started
    assert (status, answer["code"]) == (409, "visit_changed"), answer
    assert stale_api.SAID_JA in answer["message_ja"]
    # Nothing recorded: no procedure, audit event, nonce, incident, completion, representative,
    # and B's visit as it was (not ended, no handover, no card read, not even touched).
    assert _snapshot(between.b) == between.before
    assert not Procedure.objects.filter(visit=between.b).exists()
    assert not VisitRepresentative.objects.exists()


def test_the_procedure_form_is_refused_under_the_lock(trusted, staff_client, monkeypatch):
    a = _start(staff_client, trusted.card("A"))
    between = NextVisitBetween(staff_client, trusted.card("B"), a)
    early = desk_views._shown_for_another_visit

    def early_then_next_visit(request, visit, **kwargs):
        stale = early(request, visit, **kwargs)
        assert stale is None  # the form was shown for A, the open visit
        between.switch()
        return stale

    monkeypatch.setattr(desk_views, "_shown_for_another_visit", early_then_next_visit)

    r = staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})

    assert between.b is not None
    assert r.status_code == 302
    assert SAID_FORM in " ".join(str(m) for m in get_messages(r.wsgi_request))
    assert _snapshot(between.b) == between.before
    assert not Procedure.objects.filter(visit=between.b).exists()


def test_the_services_compare_the_named_visit_under_the_lock(trusted, staff_client):
    """Called directly with the visit a call was made for while another is open: each refuses;
    with the open one named, or none, each acts as before."""
    desk = staff_client.desk
    a = _start(staff_client, trusted.card("A"))
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)
    b = _start(staff_client, trusted.card("B"))
    before = _snapshot(b)
    calls = [
        lambda named: services.procedure_prepare(
            desk_session=desk,
            kind="test_link",
            fields=stale_api.PROCEDURE["fields"],
            expected_visit=named,
        ),
        lambda named: services.visit_handover_start(desk_session=desk, expected_visit=named),
        lambda named: services.visit_end(
            visit=b, reason=VisitEndReason.NEXT_RESIDENT, expected_visit=named
        ),
    ]
    for call in calls:
        with pytest.raises(Refusal) as refused:
            call(a.reference)
        assert refused.value.code == "visit_changed"
        with pytest.raises(Refusal) as refused:
            call("")  # a form that names no visit
        assert refused.value.code == "visit_changed"
    assert _snapshot(b) == before
    for call in calls:
        call(b.reference)
    b.refresh_from_db()
    assert b.handover_at is not None
    assert b.ended_at is not None
    assert Procedure.objects.filter(visit=b).count() == 1
