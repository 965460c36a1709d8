"""Probe F, round 22: the visit page's 「取り消す」 form is the one POST form of a visit's pages
that does not carry the visit it was shown for (docs/desk.md "A tab left on an earlier visit":
every POST form of a visit's pages carries it)."""

from django.contrib.messages import get_messages

from madoguchi.desk import services
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Procedure
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
_start = test_text_rules._start

FORM = "/desk/visit/procedures/test_link/"
SAID = "この画面は前の来庁のものです"


def _said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_stale_tabs_remove_button_says_the_page_was_for_an_earlier_visit(trusted, staff_client):
    """A tab left on resident A's visit page (A's test link pending, with its 取り消す button).
    A's visit ends and B's starts; staff press 取り消す in the old tab. The form names no visit,
    so the server looks A's procedure up in B's visit and answers 「…準備中の手続きはありません」
    (procedure_not_pending) on B's visit page: a refusal that says neither that the page was
    the previous resident's nor what to do. The form should carry its visit, and the refusal
    be the stale tab's sentence, as for every other form of the page."""
    a = _start(staff_client, trusted.card("A"))
    staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    p = Procedure.objects.get(visit=a)
    page = staff_client.get("/desk/visit/").content.decode()
    form_start = page.index(f"/desk/visit/procedures/{p.pk}/")
    form = page[form_start : page.index("</form>", form_start)]
    assert f'name="visit" value="{a.reference}"' in form, form

    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    _start(staff_client, trusted.card("B"))
    r = staff_client.post(f"/desk/visit/procedures/{p.pk}/discard/", {"visit": a.reference})
    assert SAID in _said(r)
    p.refresh_from_db()
    assert p.status == ProcedureStatus.DISCARDED  # ended with A's visit, not by this form


def test_a_removal_naming_no_visit_removes_nothing(trusted, staff_client):
    """A removal sent without its `visit` (by hand, or a page from before the form carried it)
    cannot show which visit it was for: refused as every such form is, the procedure kept."""
    a = _start(staff_client, trusted.card("A"))
    staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    p = Procedure.objects.get(visit=a)
    r = staff_client.post(f"/desk/visit/procedures/{p.pk}/discard/", {})
    assert SAID in _said(r)
    p.refresh_from_db()
    assert p.status == ProcedureStatus.PENDING
    staff_client.get("/desk/visit/")  # the refusal shown
    # The form as the page sends it removes it.
    r = staff_client.post(f"/desk/visit/procedures/{p.pk}/discard/", {"visit": a.reference})
    assert SAID not in _said(r)
    p.refresh_from_db()
    assert p.status == ProcedureStatus.DISCARDED


def test_a_removal_for_a_visit_that_changed_after_the_check_is_refused_as_stale(
    trusted, staff_client, monkeypatch
):
    """The visit changes between the view's early check and the service's act (the page's read
    still gives A's visit, B's has started): the service compares the form's visit again under
    the lock and refuses with the stale tab's sentence, not 「…準備中の手続きはありません」."""
    from madoguchi.desk import views

    a = _start(staff_client, trusted.card("A"))
    staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    p = Procedure.objects.get(visit=a)
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    _start(staff_client, trusted.card("B"))
    monkeypatch.setattr(views, "_visit_or_redirect", lambda request: a)
    r = staff_client.post(f"/desk/visit/procedures/{p.pk}/discard/", {"visit": a.reference})
    assert r.status_code == 302
    assert SAID in _said(r)
