"""A desk page left open in a tab (or a second tab) for one resident's visit, sent after that
visit ended and the next resident's started: the procedure form (the first resident's bank
account or payment ID, typed for them), the checklist and "end the visit" each act on the
desk's *current* visit, so the first resident's account was prepared into the next resident's
visit, their checklist ticked, or their visit ended. Each form carries the visit it was shown
for; sent for another, it is refused, saying why, and nothing is recorded (docs/security.md,
side doors round 12). The page's own script notices a changed visit within a second while it
runs; a tab in the background is throttled, and a form can be sent before it notices."""

import re

from django.contrib.messages import get_messages

from madoguchi.checklists import services as checklists
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Procedure
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
_start = test_text_rules._start

FORM = "/desk/visit/procedures/test_link/"
SAID = "この画面は前の来庁のものです"


def _said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_stale_tabs_forms_do_not_act_on_the_next_residents_visit(trusted, staff_client):
    a = _start(staff_client, trusted.card("A"))
    page = staff_client.get(FORM).content.decode()
    assert f'name="visit" value="{a.reference}"' in page
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    b = _start(staff_client, trusted.card("B"))

    r = staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    assert r.status_code == 302
    assert SAID in _said(r)
    assert not Procedure.objects.filter(visit=b).exists()

    r = staff_client.post("/desk/visit/checklist/", {"visit": a.reference, "stage": "x"})
    assert r.status_code == 302
    assert SAID in _said(r)

    r = staff_client.post("/desk/visit/end/", {"visit": a.reference})
    assert SAID in _said(r)
    b.refresh_from_db()
    assert b.ended_at is None

    # The same forms shown for the current visit are taken.
    r = staff_client.post(FORM, {"visit": b.reference, "account": "PAY-A-1", "points": "5"})
    assert Procedure.objects.filter(visit=b).count() == 1
    staff_client.post("/desk/visit/end/", {"visit": b.reference})
    b.refresh_from_db()
    assert b.ended_at is not None


def test_a_form_that_names_no_visit_is_refused_as_a_stale_tabs(trusted, staff_client):
    """Round 12 refused a form naming another visit, and took one naming none: a form sent
    without its `visit` field (by hand, or a page kept from before forms carried it) acted on
    whatever visit was current (docs/security.md, side doors round 13)."""
    checklists.template_install_default()
    a = _start(staff_client, trusted.card("A"))

    r = staff_client.post(FORM, {"account": "PAY-A-1", "points": "5"})
    assert r.status_code == 302
    assert SAID in _said(r)
    assert not Procedure.objects.filter(visit=a).exists()

    r = staff_client.post(
        "/desk/visit/checklist/",
        {"stage": "before_completion", "item": ["card_face_matches"]},
        headers={"HX-Request": "true"},
    )
    assert r["HX-Redirect"] == "/desk/visit/"
    assert not ChecklistTick.objects.filter(visit=a).exists()

    r = staff_client.post("/desk/visit/end/", {})
    assert SAID in _said(r)
    a.refresh_from_db()
    assert a.ended_at is None

    # English on an English page.
    r = staff_client.post(FORM + "?lang=en", {"account": "PAY-A-1", "points": "5"})
    assert "This page was for an earlier visit" in _said(r)

    # What the desk's pages send: each of the visit's POST forms carries its visit.
    staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    pages = [staff_client.get(p).content.decode() for p in ("/desk/visit/", FORM)]
    pages.append(staff_client.get("/desk/visit/confirm/").content.decode())
    forms = [
        f
        for page in pages
        for f in re.findall(r"<form [^>]*method=\"post\".*?</form>", page, re.S)
        # The visit's own forms (the sign-out is the desk's). A pending procedure's removal
        # carries its visit too: the procedure alone named one of an earlier visit, refused
        # as "not pending" (side doors, round 22; tests/desk/test_stale_tab_discard.py).
        if not re.search(r'action="/(?!desk/)', f)
    ]
    assert any("/discard/" in f for f in forms)
    assert len(forms) >= 4
    for form in forms:
        assert f'name="visit" value="{a.reference}"' in form, form[:200]


def test_a_visit_that_changes_after_the_forms_check_gets_nothing(
    trusted, staff_client, monkeypatch
):
    """The procedure form is checked against the visit the page reads, then its service reads
    the open visit again: B's visit starting between the two (the same few milliseconds) is
    played by the page's read still giving A's visit. The service finds B's and refuses,
    nothing recorded (docs/security.md, side doors round 14)."""
    from madoguchi.desk import views

    a = _start(staff_client, trusted.card("A"))
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    b = _start(staff_client, trusted.card("B"))
    monkeypatch.setattr(views, "_visit_or_redirect", lambda request: a)

    r = staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})

    assert r.status_code == 302
    assert SAID in _said(r)
    assert not Procedure.objects.filter(visit=b).exists()
