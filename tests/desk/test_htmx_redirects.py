"""A checklist tick (htmx) whose answer is a redirect: the visit ended unseen, the desk sign-in
ended, the session's limits passed, the ended page's own form refused. A plain redirect is
followed by the browser and htmx swapped the page it led to into the checklist's place: the
whole ended page (or the sign-in page) inside the confirmation page, whose lines and card
button stayed on screen (side doors, round 22). Every such redirect is sent as htmx's
`HX-Redirect` (core.middleware.HtmxRedirectMiddleware), so the page goes there and says why;
tests/browser/test_desk_round22.py walks the first in chromium."""

import pytest
from django.urls import reverse

from madoguchi.accounts import services as accounts
from madoguchi.checklists import services as checklists
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from tests import cardkit, checklistkit

from . import test_pages
from .test_pages import ORIGIN, prepare, shown_form, start

staff_client = test_pages.staff_client  # the enrolled terminal with desk staff signed in
_origin = test_pages._origin  # autouse: the server's origin, cookies over http

HTMX = {"HX-Request": "true"}
TICK = "/desk/visit/checklist/"
LOGIN = reverse("accounts:login")


def _confirmation_form(client, card):
    """The confirmation page's checklist form of a visit with one pending procedure."""
    checklists.template_install_default()
    visit = start(client, card)
    prepare(client)
    return visit, shown_form(client.get("/desk/visit/confirm/").content.decode())


def _goes_to(response, path: str) -> None:
    """htmx's redirect: 200, `HX-Redirect`, and no `Location` for the browser to follow."""
    assert response.status_code == 200, response.status_code
    assert response["HX-Redirect"] == path
    assert not response.has_header("Location")
    assert response.content == b""  # nothing to swap in


def test_a_tick_after_the_visit_ended_unseen_goes_to_the_ended_page(trusted, staff_client):
    visit, form = _confirmation_form(staff_client, trusted.card("A"))
    services.visit_end(
        visit=visit, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff
    )
    r = staff_client.post(TICK, {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    _goes_to(r, reverse("desk:ended"))
    assert not ChecklistTick.objects.filter(visit=visit).exists()
    page = staff_client.get(r["HX-Redirect"]).content.decode()
    assert 'data-testid="ended-page"' in page
    assert "受付が開始されていません" in page  # why, on the page it went to

    # The same form without htmx (a browser without script) is redirected as before.
    r = staff_client.post(TICK, {**form, "item": ["pin_by_resident"]})
    assert r.status_code == 302
    assert r["Location"] == reverse("desk:ended")
    assert not r.has_header("HX-Redirect")


def test_a_tick_after_the_desk_sign_in_ended_goes_to_the_sign_in_saying_why(trusted, staff_client):
    _visit, form = _confirmation_form(staff_client, trusted.card("A"))
    terminal_services.desk_session_close(
        session=staff_client.desk, reason=DeskSessionCloseReason.IDLE, actor=None
    )
    r = staff_client.post(TICK, {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    _goes_to(r, LOGIN)
    page = staff_client.get(r["HX-Redirect"]).content.decode()
    assert "操作のない時間が続いたため、この端末での窓口のサインインは終了しました" in page


def test_a_tick_after_signing_out_goes_to_the_sign_in_then_back_to_the_desk(trusted, staff_client):
    """Signed out in another tab: the tick goes to the sign-in, whose `next` is the desk, not
    the tick's address (which takes no GET: after signing in, a 405 page)."""
    _visit, form = _confirmation_form(staff_client, trusted.card("A"))
    staff_client.post(reverse("accounts:logout"))
    r = staff_client.post(TICK, {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    assert r.status_code == 200
    assert r["HX-Redirect"].startswith(LOGIN + "?")
    assert "next=/desk/" in r["HX-Redirect"]
    assert "checklist" not in r["HX-Redirect"]
    # A page's GET keeps its own address as `next`.
    assert "next=/desk/visit/confirm/" in staff_client.get("/desk/visit/confirm/")["Location"]


def test_a_tick_after_the_sessions_idle_limit_goes_to_the_sign_in_saying_why(
    trusted, staff_client, settings
):
    _visit, form = _confirmation_form(staff_client, trusted.card("A"))
    session = staff_client.session
    session[accounts.SEEN_AT] -= settings.STAFF_IDLE_SECONDS + 1
    session.save()
    r = staff_client.post(TICK, {**form, "item": ["pin_by_resident"]}, headers=HTMX)
    assert r.status_code == 200
    assert r["HX-Redirect"].startswith(f"{LOGIN}?lapsed=session_idle")
    assert "30分間操作がなかったため" in staff_client.get(r["HX-Redirect"]).content.decode()


def test_a_tick_on_the_ended_page_after_the_next_visit_started_leaves_the_page(
    trusted, staff_client
):
    """The ended page's own after-completion checklist, left open while the next visit started
    in another tab: its tick is refused and goes to the pages as they are now, saying why,
    instead of swapping the next visit's page into the ended page."""
    checklists.template_install_default()
    a = trusted.card("A")
    visit = start(staff_client, a)
    prepare(staff_client)
    checklistkit.tick_before(staff_client.desk)
    ch = services.completion_challenge(desk_session=staff_client.desk)
    token = cardkit.completion_token(a, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    services.completion_commit(desk_session=staff_client.desk, token=token, nonce=ch.nonce.value)
    services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    page = staff_client.get("/desk/ended/").content.decode()
    assert 'data-testid="ended-checklist"' in page
    form = {**shown_form(page), "stage": "after_completion"}
    start(staff_client, trusted.card("B"))

    r = staff_client.post(
        "/desk/ended/checklist/", {**form, "item": ["receipt_handed"]}, headers=HTMX
    )
    _goes_to(r, reverse("desk:ended"))
    said = staff_client.get(r["HX-Redirect"], follow=True).content.decode()
    assert "この受付はまだ続いています" in said
    assert not ChecklistTick.objects.filter(visit=visit, item__code="receipt_handed").exists()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_to_an_htmx_request_is_sent_as_hx_redirect(rf, status):
    """The middleware's rule alone: any redirect status, its cookies kept (the message saying
    why may ride in one); a response that is no redirect, or to a request not from htmx, is
    left as it was."""
    from django.http import HttpResponse, HttpResponseRedirect

    from madoguchi.core.middleware import HtmxRedirectMiddleware

    def redirecting(request):
        response = HttpResponseRedirect("/desk/ended/", status=status)
        response.set_cookie("messages", "why")
        return response

    r = HtmxRedirectMiddleware(redirecting)(rf.post("/x/", headers=HTMX))
    assert r.status_code == 200
    assert r["HX-Redirect"] == "/desk/ended/"
    assert not r.has_header("Location")
    assert r.cookies["messages"].value == "why"

    r = HtmxRedirectMiddleware(redirecting)(rf.post("/x/"))
    assert (r.status_code, r["Location"]) == (status, "/desk/ended/")
    page = HtmxRedirectMiddleware(lambda request: HttpResponse("<p>ok</p>"))
    r = page(rf.post("/x/", headers=HTMX))
    assert (r.status_code, r.content, r.has_header("HX-Redirect")) == (200, b"<p>ok</p>", False)
