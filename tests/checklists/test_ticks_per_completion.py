"""The checklist's ticks are for one completion, and for the summary the resident confirmed.

A visit stays open after a completion (the receipt's 受付の画面に戻る): a second account keyed in
then was committed with the first completion's ticks, the seed incident's shape (the
"account in the resident's name" item would have caught it). A completion now starts a new round
of the visit's ticks. A procedure prepared or discarded changes the summary the card will sign:
"the resident confirmed the summary" and the own-name item are withdrawn by the system, saying
why, to be ticked again.
"""

import pytest
from django.urls import reverse

from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import display as describe
from madoguchi.checklists import services
from madoguchi.checklists.constants import SUMMARY_ITEMS, Stage, Withdrawal
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from tests import cardkit
from tests.incidents.conftest import login_at_desk
from tests.visits import start_visit as start

from .conftest import ORIGIN

BEFORE = Stage.BEFORE_COMPLETION
AFTER = Stage.AFTER_COMPLETION


def prepare(desk, account):
    return desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": account, "points": 100}
    )


def tick_all(visit, staff, stage=BEFORE):
    for item in services.items_for(visit, stage):
        services.tick(visit=visit, item=item, staff=staff)


def commit(desk, card):
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(card, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    return desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)


def codes(items):
    return {i.code for i in items}


def unticked(visit):
    return Incident.objects.filter(kind=IncidentKind.CHECKLIST_UNTICKED, visit=visit)


def test_a_second_completion_in_the_same_visit_needs_its_own_ticks(trusted, desk, checklist):
    """A's visit: A's application is checked, ticked and signed; the visit stays open (the
    receipt's 受付の画面に戻る). Another account is then keyed in: the bank book shown for it and
    the resident's confirmation of the new summary were never checked, yet the ticks of the first
    completion let the second through with nothing ticked for it."""
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    commit(desk, card)
    prepare(desk, "PAY-B-0002")
    visit.refresh_from_db()
    missing = {i.code for i in services.missing(visit, Stage.BEFORE_COMPLETION)}
    assert {"payment_card_in_name", "summary_confirmed"} <= missing
    with pytest.raises(Refusal) as refused:
        desk_services.completion_challenge(desk_session=desk)
    assert refused.value.code == "checklist_incomplete"


def test_the_second_completion_commits_with_ticks_of_its_own(trusted, desk, checklist):
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    commit(desk, card)
    prepare(desk, "PAY-B-0002")
    # Every before-completion item, not only the summary's: the PIN is typed again, the card
    # shown again, for this completion.
    assert codes(services.missing(visit, BEFORE)) == codes(services.items_for(visit, BEFORE))
    assert all(not r.ticked for r in services.ticked_state(visit).values())
    tick_all(visit, desk.staff)
    assert services.missing(visit, BEFORE) == []
    second = commit(desk, card)
    assert second.procedures.get().fields["account"] == "PAY-B-0002"
    rounds = ChecklistTick.objects.filter(visit=visit, item__stage=BEFORE, ticked=True)
    assert sorted(set(rounds.values_list("completion_round", flat=True))) == [0, 1]


def test_each_completions_after_items_are_ticked_for_it(trusted, desk, checklist):
    """The receipt handed over for the first completion is not the second's: the second
    receipt's page shows its items unticked, and the visit's end names what was left."""
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    commit(desk, card)
    services.tick_many(visit=visit, stage=AFTER, codes={"receipt_handed"}, staff=desk.staff)
    assert "receipt_handed" not in codes(services.missing(visit, AFTER))
    prepare(desk, "PAY-B-0002")
    tick_all(visit, desk.staff)
    commit(desk, card)
    # The second completion's receipt: nothing ticked for it yet.
    assert codes(services.missing(visit, AFTER)) == {"receipt_handed", "visit_ended"}
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert unticked(visit).get().detail["items"] == ["receipt_handed", "visit_ended"]


def test_after_items_ticked_for_the_last_completion_leave_no_incident(trusted, desk, checklist):
    card = trusted.card("A")
    visit = start(desk, card)
    for account in ("PAY-A-0001", "PAY-A-0002"):
        prepare(desk, account)
        tick_all(visit, desk.staff)
        commit(desk, card)
        services.tick_many(visit=visit, stage=AFTER, codes={"receipt_handed"}, staff=desk.staff)
    services.tick_many(
        visit=visit, stage=AFTER, codes={"receipt_handed", "visit_ended"}, staff=desk.staff
    )
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert not unticked(visit).exists()


def test_the_ended_page_ticks_the_last_completions_items(trusted, desk, checklist):
    """The card taken back right after the second PIN: the ended page's items are the second
    completion's, and what stays unticked is the incident when the desk moves on."""
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    commit(desk, card)
    services.tick_many(visit=visit, stage=AFTER, codes={"receipt_handed"}, staff=desk.staff)
    prepare(desk, "PAY-A-0002")
    tick_all(visit, desk.staff)
    commit(desk, card)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    rows = services.tick_after_end(desk_session=desk, codes={"visit_ended"}, staff=desk.staff)
    assert [(r.item.code, r.completion_round) for r in rows] == [("visit_ended", 2)]
    start(desk, trusted.card("B"))  # the desk moves on
    assert unticked(visit).get().detail["items"] == ["receipt_handed"]


def test_a_summary_changed_after_its_confirmation_is_ticked_again(trusted, desk, checklist):
    """The resident confirmed one summary (ticked); staff then add a second account. The summary
    the card will sign is not the one confirmed: its tick must not stand for it."""
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    prepare(desk, "PAY-B-0002")
    with pytest.raises(Refusal) as refused:
        desk_services.completion_challenge(desk_session=desk)
    assert refused.value.code == "checklist_incomplete"


def test_the_summarys_items_are_withdrawn_by_the_system_saying_why(trusted, desk, checklist):
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    before = AuditEvent.objects.count()
    prepare(desk, "PAY-B-0002")
    assert codes(services.missing(visit, BEFORE)) == SUMMARY_ITEMS
    withdrawn = ChecklistTick.objects.filter(visit=visit, reason=Withdrawal.SUMMARY_CHANGED)
    assert {(t.item.code, t.ticked, t.staff_id) for t in withdrawn} == {
        (code, False, None) for code in SUMMARY_ITEMS
    }
    # In the audit log as the system's withdrawal, not the staff member's.
    events = AuditEvent.objects.order_by("seq")[before:]
    system = [e for e in events if e.event_name == "checklists.summary_changed"]
    assert {e.payload["item"] for e in system} == SUMMARY_ITEMS
    assert all(e.actor_id == "" and e.actor_label == "" for e in system)
    assert not [e for e in events if e.event_name == "checklists.ticked"]
    text = describe(system[0], "ja")
    assert "確定内容が変わったため" in text
    assert "未確認に戻しました" in text
    # Ticked again for the summary shown now, the completion goes on.
    tick_all(visit, desk.staff)
    commit(desk, card)


def test_a_discarded_procedure_withdraws_the_summarys_items_too(trusted, desk, checklist):
    card = trusted.card("A")
    visit = start(desk, card)
    prepare(desk, "PAY-A-0001")
    second = prepare(desk, "PAY-B-0002")
    tick_all(visit, desk.staff)
    desk_services.procedure_discard(desk_session=desk, procedure_id=second.pk)
    assert codes(services.missing(visit, BEFORE)) == SUMMARY_ITEMS
    with pytest.raises(Refusal) as refused:
        desk_services.completion_challenge(desk_session=desk)
    assert refused.value.code == "checklist_incomplete"


def test_nothing_is_withdrawn_when_nothing_of_the_summary_is_ticked(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk, "PAY-A-0001")
    face = checklist.items.get(code="card_face_matches")
    services.tick(visit=visit, item=face, staff=desk.staff)
    prepare(desk, "PAY-B-0002")
    assert list(ChecklistTick.objects.filter(visit=visit).values_list("item__code", "ticked")) == [
        ("card_face_matches", True)
    ]


def test_the_confirmation_page_says_why_the_summary_is_to_be_confirmed_again(
    client, trusted, desk, checklist
):
    visit = start(desk, trusted.card("A"))
    prepare(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)
    prepare(desk, "PAY-B-0002")
    login_at_desk(client, desk)
    page = client.get(reverse("desk:confirm")).content.decode()
    assert 'data-testid="withdrawn-summary_confirmed"' in page
    assert "チェックの後に確定内容が変わりました" in page
    assert 'name="shown" value="card_face_matches"' in page
    assert 'name="shown" value="summary_confirmed"' not in page
