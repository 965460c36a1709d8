"""The page's checklist rows and the form's ticks read the visit's version, its items and their
latest state with fewer queries (issue 15); what they show and record is unchanged."""

from madoguchi.audit import selectors as audit_selectors
from madoguchi.audit.models import AuditEvent
from madoguchi.checklists import selectors, services
from madoguchi.checklists.constants import Stage
from madoguchi.checklists.models import ChecklistItem, ChecklistTick
from tests.compiling import compiled_queries
from tests.visits import start_visit as start

from .test_services import prepare

STAGE = Stage.BEFORE_COMPLETION


def _reference(visit):
    """The rows as the version's items and the visit's tick state give them."""
    state = services.ticked_state(visit)
    return [(i.pk, state.get(i.pk)) for i in services.items_for(visit, STAGE)]


def _rows(visit):
    return [(r.item.pk, r.tick) for r in selectors.rows(visit, STAGE)]


def test_rows_are_the_items_with_the_latest_row_of_each(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    assert selectors.rows(visit, STAGE) == []  # nothing prepared: nothing applies
    prepare(desk)
    assert _rows(visit) == _reference(visit)
    assert [t for _, t in _rows(visit)] == [None] * len(_rows(visit))
    face = checklist.items.get(code="card_face_matches")
    pin = checklist.items.get(code="pin_by_resident")
    services.tick(visit=visit, item=face, staff=desk.staff)
    services.tick(visit=visit, item=pin, staff=desk.staff)
    withdrawn = services.tick(visit=visit, item=pin, staff=desk.staff, ticked=False)
    assert _rows(visit) == _reference(visit)
    shown = {r.item.code: r for r in selectors.rows(visit, STAGE)}
    assert shown["card_face_matches"].ticked
    assert shown["card_face_matches"].tick.staff == desk.staff
    assert shown["pin_by_resident"].tick == withdrawn
    assert not shown["pin_by_resident"].ticked
    assert shown["summary_confirmed"].tick is None


def test_rows_and_ticks_stay_on_the_version_the_visit_began_ticking_under(trusted, desk, checklist):
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    services.tick(visit=visit, item=checklist.items.get(code="card_face_matches"), staff=desk.staff)
    v2 = services.template_new_version(template=checklist)
    ChecklistItem.objects.create(
        template=v2, code="new_point", label_ja="新しい確認", label_en="New point",
        stage=STAGE, required=True, order=99,
    )  # fmt: skip
    services.template_activate(template=v2)
    assert {r.item.template_id for r in selectors.rows(visit, STAGE)} == {checklist.pk}
    assert _rows(visit) == _reference(visit)
    added = services.tick_many(
        visit=visit, stage=STAGE, codes={"card_face_matches", "new_point"}, staff=desk.staff
    )
    assert added == []  # new_point is not in the visit's version; face is ticked already
    # A new visit is on the new version, and the form records only what changes.
    other = start(desk, trusted.card("B"))
    prepare(desk)
    added = services.tick_many(
        visit=other, stage=STAGE, codes={"new_point", "pin_by_resident"}, staff=desk.staff
    )
    assert sorted(t.item.code for t in added) == ["new_point", "pin_by_resident"]
    assert {t.template_version for t in added} == {v2.version}
    added = services.tick_many(visit=other, stage=STAGE, codes={"new_point"}, staff=desk.staff)
    assert [(t.item.code, t.ticked) for t in added] == [("pin_by_resident", False)]
    assert ChecklistTick.objects.filter(visit=other).count() == 3
    assert _rows(other) == _reference(other)


def test_the_forms_ticks_show_in_the_audit_trail_by_the_items_label(trusted, desk, checklist):
    """The officials' audit trail reads 「カードの顔写真が…」, not the item's code, for a tick
    from the desk's form as for a single tick (the form's payload had no labels)."""
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    services.tick_many(visit=visit, stage=STAGE, codes={"card_face_matches"}, staff=desk.staff)
    face = checklist.items.get(code="card_face_matches")
    event = AuditEvent.objects.filter(event_name="checklists.ticked").get()
    assert f"「{face.label_ja}」" in audit_selectors.display(event, "ja")
    assert face.label_en in audit_selectors.display(event, "en")
    assert "card_face_matches" not in audit_selectors.display(event, "ja")


def test_the_forms_reads_are_compiled_once_per_process(trusted, desk, checklist):
    """A checklist form's reads (the locked visit, its procedures' kinds, the items with their
    state) run SQL compiled once per process (issue 15, ninth round: the kinds were a queryset
    built and compiled on every form); the kinds are the visit's, pending or committed."""
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    services.tick_many(visit=visit, stage=STAGE, codes=set(), staff=desk.staff)  # warm
    codes = {"card_face_matches"}
    with compiled_queries() as compiled:
        rows = services.tick_many(visit=visit, stage=STAGE, codes=codes, staff=desk.staff)
    assert [r.item.code for r in rows] == ["card_face_matches"]
    assert compiled == []
    assert services._kinds(visit, STAGE) == {"test_link"}
    assert services._kinds(visit, Stage.AFTER_COMPLETION) == set()
