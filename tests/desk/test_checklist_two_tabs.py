"""The checklist form from two tabs of one desk: only the box that was touched changes.

The form posted its whole state, so a tab showing an older state recorded, in the staff
member's name, the withdrawal of every box another tab had ticked since. Each ticked box now
also sends its code as `shown`: the server changes only the boxes that differ from what the
form showed.
"""

from madoguchi.checklists import services as checklists
from madoguchi.checklists.models import ChecklistTick

from .test_pages import _origin, prepare, shown_form, staff_client, start  # noqa: F401

HTMX = {"HX-Request": "true"}


def _rows(visit):
    return [
        (t.item.code, t.ticked) for t in ChecklistTick.objects.filter(visit=visit).order_by("pk")
    ]


def test_a_tick_in_a_second_tab_does_not_withdraw_the_first_tabs_tick(trusted, staff_client):  # noqa: F811
    """Two tabs on the confirmation page (a second tab, or one opened before the first tick).
    Tab 1 ticks the card's face; tab 2, which still shows it unticked, ticks the PIN item. The
    form posts its whole state, so the server records that the staff member *withdrew* the
    card's face check (an audited `checklists.ticked` "withdrawn") though nobody unticked it."""
    checklists.template_install_default()
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client)
    form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    staff_client.post(
        "/desk/visit/checklist/", {**form, "item": ["card_face_matches"]}, headers=HTMX
    )
    staff_client.post("/desk/visit/checklist/", {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    rows = _rows(visit)
    assert ("card_face_matches", False) not in rows, rows


def test_the_forms_as_shown_change_only_their_own_box(trusted, staff_client):  # noqa: F811
    checklists.template_install_default()
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client)
    form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    # Both tabs load the page with nothing ticked.
    page = staff_client.get("/desk/visit/confirm/").content.decode()
    assert 'name="shown"' not in page
    tab1 = staff_client.post(
        "/desk/visit/checklist/", {**form, "item": ["card_face_matches"]}, headers=HTMX
    )
    assert b'name="shown" value="card_face_matches"' in tab1.content
    # Tab 2, still showing nothing ticked, ticks the PIN: the face stays ticked.
    staff_client.post("/desk/visit/checklist/", {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    # Tab 1 (its fieldset swapped: it shows the face ticked) unticks the face: withdrawn, and
    # the PIN, which it shows unticked and did not touch, stays ticked.
    staff_client.post(
        "/desk/visit/checklist/", {**form, "shown": ["card_face_matches"]}, headers=HTMX
    )
    assert _rows(visit) == [
        ("card_face_matches", True),
        ("pin_by_resident", True),
        ("card_face_matches", False),
    ]
    state = {r.item.code: r.ticked for r in checklists.ticked_state(visit).values()}
    assert state == {"card_face_matches": False, "pin_by_resident": True}
