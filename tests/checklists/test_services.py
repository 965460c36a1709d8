"""The enforced checklist: required items block completion on the server; records are kept."""

import pytest
from django.core.exceptions import ValidationError

from madoguchi.audit.models import AuditEvent
from madoguchi.audit.selectors import display as describe
from madoguchi.checklists import services
from madoguchi.checklists.constants import DEFAULT_ITEMS, Stage
from madoguchi.checklists.models import ChecklistItem, ChecklistTick
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from tests import cardkit
from tests.visits import start_visit as start

from .conftest import ORIGIN


def prepare(desk):
    return desk_services.procedure_prepare(
        desk_session=desk, kind="test_link", fields={"account": "PAY-A-0001", "points": 100}
    )


def tick_all(visit, staff, stage=Stage.BEFORE_COMPLETION, but=()):
    for item in services.items_for(visit, stage):
        if item.code not in but:
            services.tick(visit=visit, item=item, staff=staff)


def test_default_install_is_idempotent_and_has_the_manuals_points(checklist):
    again = services.template_install_default()
    assert again.pk == checklist.pk
    assert checklist.is_active
    assert checklist.version == 1
    assert sorted(checklist.items.values_list("code", flat=True)) == sorted(
        code for code, *_ in DEFAULT_ITEMS
    )


def test_nothing_applies_before_a_procedure_is_prepared(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    assert services.items_for(visit, Stage.BEFORE_COMPLETION) == []
    prepare(desk)
    codes = {i.code for i in services.items_for(visit, Stage.BEFORE_COMPLETION)}
    assert codes == {
        "card_face_matches",
        "pin_by_resident",
        "payment_card_in_name",
        "summary_confirmed",
    }


def test_item_limited_to_other_procedures_does_not_apply(trusted, desk, checklist):
    ChecklistItem.objects.filter(template=checklist, code="payment_card_in_name").update(
        procedures=["point_application"]
    )
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    codes = {i.code for i in services.items_for(visit, Stage.BEFORE_COMPLETION)}
    assert "payment_card_in_name" not in codes


def test_unticked_required_item_refuses_the_challenge_with_ja_and_en(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    tick_all(visit, desk.staff, but=("summary_confirmed",))
    with pytest.raises(Refusal) as exc:
        desk_services.completion_challenge(desk_session=desk)
    assert exc.value.code == "checklist_incomplete"
    assert "確定内容を来庁者本人が画面で確認した" in exc.value.message_ja
    assert "confirmed the summary" in exc.value.message_en
    # Refused at the challenge: the visit stays open, staff can tick and go on.
    assert desk_services.visit_current(desk_session=desk) is not None
    tick_all(visit, desk.staff)
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(
        trusted.card("A"), ORIGIN, ch.nonce.value, ch.transaction_bytes
    )
    completion = desk_services.completion_commit(
        desk_session=desk, token=token, nonce=ch.nonce.value
    )
    assert completion.procedures.get().status == ProcedureStatus.COMMITTED


def test_tick_withdrawn_after_the_challenge_refuses_the_commit(trusted, desk, checklist):
    a = trusted.card("A")
    visit = start(desk, a)
    prepare(desk)
    tick_all(visit, desk.staff)
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(a, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    item = ChecklistItem.objects.get(template=checklist, code="card_face_matches")
    services.tick(visit=visit, item=item, staff=desk.staff, ticked=False)
    with pytest.raises(Refusal) as exc:
        desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)
    assert exc.value.code == "checklist_incomplete"
    assert not Completion.objects.exists()
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.COMPLETION_REFUSED
    assert Incident.objects.filter(reason_code="checklist_incomplete", visit=visit).exists()


def test_audit_lines_of_ticks_show_the_items_label_not_its_code(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    item = ChecklistItem.objects.get(template=checklist, code="card_face_matches")
    services.tick(visit=visit, item=item, staff=desk.staff)
    services.tick(visit=visit, item=item, staff=desk.staff, ticked=False)
    ticked, withdrawn = AuditEvent.objects.filter(event_name="checklists.ticked").order_by("seq")
    ja = describe(ticked, "ja")
    assert f"「{item.label_ja}」を確認済みにしました" in ja
    assert "card_face_matches" not in ja
    assert "未確認に戻しました" in describe(withdrawn, "ja")
    assert item.label_en in describe(ticked, "en")


def test_ticks_are_rows_with_time_and_staff_and_append_only(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    item = ChecklistItem.objects.get(template=checklist, code="pin_by_resident")
    first = services.tick(visit=visit, item=item, staff=desk.staff)
    services.tick(visit=visit, item=item, staff=desk.staff, ticked=False)
    rows = list(ChecklistTick.objects.filter(visit=visit, item=item).order_by("pk"))
    assert [r.ticked for r in rows] == [True, False]
    assert rows[0].staff == desk.staff
    assert rows[0].at is not None
    assert "pin_by_resident" in {i.code for i in services.missing(visit, Stage.BEFORE_COMPLETION)}
    first.ticked = False
    with pytest.raises(ValidationError):
        first.save()
    with pytest.raises(ValidationError):
        first.delete()


def test_new_version_leaves_records_under_the_old_one(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    item = ChecklistItem.objects.get(template=checklist, code="card_face_matches")
    row = services.tick(visit=visit, item=item, staff=desk.staff)
    # The used version is frozen: its items cannot change any more.
    item.label_ja = "変更"
    with pytest.raises(ValidationError):
        item.save()
    v2 = services.template_new_version(template=checklist, note="adds an item")
    ChecklistItem.objects.create(
        template=v2,
        code="new_point",
        label_ja="新しい確認",
        label_en="New point",
        stage=Stage.BEFORE_COMPLETION,
        required=True,
        order=99,
    )
    ChecklistItem.objects.filter(template=v2, code="card_face_matches").update(
        label_ja="新しい文言"
    )
    services.template_activate(template=v2)
    checklist.refresh_from_db()
    assert not checklist.is_active
    row.refresh_from_db()
    assert row.label_ja == "カードの顔写真が来庁者本人であることを確認した"
    assert row.template_version == 1
    assert row.item.template == checklist
    # The visit that began ticking under v1 is checked against v1 to its end.
    assert services.template_for_visit(visit) == checklist
    assert "new_point" not in {i.code for i in services.missing(visit, Stage.BEFORE_COMPLETION)}


def test_a_new_visit_uses_the_new_active_version(trusted, desk, checklist):
    v2 = services.template_new_version(template=checklist)
    ChecklistItem.objects.create(
        template=v2,
        code="new_point",
        label_ja="新しい確認",
        label_en="New point",
        stage=Stage.BEFORE_COMPLETION,
        required=True,
        order=99,
    )
    services.template_activate(template=v2)
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    assert "new_point" in {i.code for i in services.missing(visit, Stage.BEFORE_COMPLETION)}


def test_item_of_another_version_is_refused(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    services.tick(visit=visit, item=checklist.items.get(code="card_face_matches"), staff=desk.staff)
    v2 = services.template_new_version(template=checklist)
    with pytest.raises(services.ChecklistRefused) as exc:
        services.tick(visit=visit, item=v2.items.get(code="pin_by_resident"), staff=desk.staff)
    assert exc.value.code == "checklist_item_unknown"


def test_no_tick_after_the_visit_ended(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    with pytest.raises(services.ChecklistRefused):
        services.tick(
            visit=visit, item=checklist.items.get(code="card_face_matches"), staff=desk.staff
        )
