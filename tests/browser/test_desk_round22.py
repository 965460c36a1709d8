"""Side doors, round 22 (probe F): desk staff on a busy day, in chromium."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk.constants import VisitEndReason

from .conftest import resident_page_origin
from .test_desk import BEFORE, add_test_link, start_visit, tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_tick_after_the_visit_ended_unseen_says_so_and_nests_no_page(desk):
    """The confirmation page is left in a tab whose poll is held back (a background tab is
    throttled; here the poll's answers never arrive) while the visit ends elsewhere (the other
    tab's 「受付を終了（次の来庁者へ）」). Staff come back and tick a box: the server has no open
    visit and answers the htmx tick with a redirect to the ended page, which the browser
    follows and htmx swaps — the whole ended page (header, skip link, tray…) — into the place of
    the checklist, the confirmation's lines and the card's button still on screen around it.
    The page should leave the visit and say it ended, as every other refused call does
    (HX-Redirect, as the stale-summary refusal does), not nest a page in the page."""
    from madoguchi.desk import services

    page = desk.page
    visit = start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001")
    page.get_by_test_id("to-confirm").click()
    page.wait_for_url(re.compile(r"/desk/visit/confirm/$"))
    tick(desk, BEFORE[:1])
    page.route(re.compile(r"/api/v1/visits/current/state$"), lambda route: route.abort())
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT, actor=desk.staff)

    page.locator("#ck-pin_by_resident").check()

    # One page: a single header and main, no ended page inside the confirmation page.
    expect(page.get_by_test_id("ended-page")).to_be_visible()
    assert page.locator("main").count() == 1
    assert page.get_by_test_id("commit-lines").count() == 0
    assert re.search(r"/desk/ended/$", page.url), page.url
    assert not ChecklistTick.objects.filter(visit=visit, item__code="pin_by_resident").exists()


def test_the_agent_stopping_under_the_pin_pad_is_said_not_something_went_wrong(desk):
    """The card agent stops (the terminal's service restarted, or it crashed) while the PIN pad
    is shown for the confirmation. The agent ends its pending request as `agent_stopped`; the
    page knows no such code and says 「問題が発生しました。もう一度お試しください。」, which says
    neither why nor what helps: trying again fails the same way until the agent runs. The page
    has the sentence for it (msg-agent-unreachable: the agent on this terminal does not answer,
    check that it is running), and the banner already says 「カードエージェントに接続できません」."""
    page = desk.page
    start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001")
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.get_by_test_id("sign-completion").click()
    page.get_by_test_id("pinpad-frame").wait_for(state="visible")
    desk.agent.stop()
    error = page.get_by_test_id("flow-error")
    expect(error).to_be_visible()
    expect(error).not_to_have_text("問題が発生しました。もう一度お試しください。")
    expect(error).to_contain_text("カードエージェント")


def test_the_notice_of_a_removed_card_says_the_card_was_removed(desk):
    """The resident takes the card off the reader: the page blanks the visit at once and shows
    the alert 「この受付は終了しました。」 with the reason, until the server confirms (here its
    answers are held back, as on a slow network: the notice stays up to 10 s). The reason read
    out is the banner's state label 「読み取り機にありません」 ("Not on the reader"), a fragment
    with no subject: the ended page says it as 「カードが取り外されました」, and so should the
    alert a screen reader announces."""
    page = desk.page
    start_visit(desk, "A")
    page.route(re.compile(r"/api/v1/visits/current/state$"), lambda route: route.abort())
    desk.remove()
    notice = page.get_by_test_id("ended-notice")
    expect(notice).to_be_visible()
    expect(notice.locator("[data-role=ended-reason]")).to_contain_text("カードが取り外されました")


def _answer_the_pin_poll(page, status: int, code: str) -> None:
    """The agent's long poll of the pending PIN request answers `status` {error: code}, as an
    agent restarted mid-request (404 not_found) or one set up for another origin does."""
    page.route(
        re.compile(r"/requests/[^/?]+\?wait="),
        lambda route: route.fulfill(
            status=status,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
            body=json.dumps({"error": code, "message": "as the agent says it"}),
        ),
    )


def test_an_agent_that_lost_the_request_or_refuses_the_origin_says_why(desk):
    """The agent restarted while the PIN pad was open (it knows the request no more: 404
    `not_found`), or it refuses this page's origin (403 `forbidden_origin`): the page said
    「問題が発生しました。もう一度お試しください。」 for both; each now says why and what to do."""
    page = desk.page
    desk.insert("A")
    desk.go("/desk/")
    error = page.get_by_test_id("flow-error")
    for status, code, said in [
        (404, "not_found", "途中で再起動された可能性があります"),
        (403, "forbidden_origin", "この画面のアドレスからの操作を受け付けない設定"),
    ]:
        _answer_the_pin_poll(page, status, code)
        page.get_by_test_id("start-visit").click()
        expect(error).to_be_visible()
        expect(error).to_contain_text(said)
        expect(error).to_contain_text("カードは使われていません")
        page.unroute(re.compile(r"/requests/[^/?]+\?wait="))


def test_the_residents_page_says_why_the_agent_lost_the_request(desk, browser, settings):
    """The resident's own page (its kiosk) shares the sentences by code with the desk
    (`madoguchi.cardMessage`): an agent restarted under the PIN pad (404 `not_found`) said
    「問題が発生しました。もう一度お試しください。」 there too."""
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        me = ctx.new_page()
        me.goto(me_url + "/me/?kiosk=1")
        me.get_by_test_id("tray-insert-C").click()
        expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
        _answer_the_pin_poll(me, 404, "not_found")
        me.get_by_test_id("me-sign-in").click()
        error = me.locator("[data-role=flow-error]")
        expect(error).to_contain_text("途中で再起動した可能性があります")
        expect(error).to_contain_text("もう一度最初からお試しください")
    finally:
        ctx.close()


def test_an_unanswered_end_says_the_server_does_not_answer_then_goes_on(desk):
    """The card leaves the reader while the server does not answer (no network): the notice
    stayed up without a word for as long as it lasted, its checks never counted. After some
    10 s it says the server does not answer and what to do; once the server answers again the
    page goes on to the ended page by itself."""
    page = desk.page
    start_visit(desk, "A")
    state = re.compile(r"/api/v1/visits/current/state$")
    page.route(state, lambda route: route.abort())
    desk.remove()
    notice = page.get_by_test_id("ended-notice")
    expect(notice).to_be_visible()
    unreachable = notice.get_by_test_id("ended-unreachable")
    expect(unreachable).to_be_hidden()
    expect(unreachable).to_be_visible(timeout=30_000)
    expect(unreachable).to_contain_text("サーバーが応答しないため")
    expect(unreachable).to_contain_text("ネットワーク接続を確認してください")
    page.unroute(state)
    page.wait_for_url(re.compile(r"/desk/ended/$"), timeout=30_000)


def _two_card_visit(desk, trusted):
    """Resident A's visit with a pending procedure, the card handover started and B's card as
    the second signer, as the representative's own authentication leaves it (set on the server
    directly: the demo's minor and parent walk it in chromium, tests/browser/test_representative.py)."""
    from django.utils import timezone

    from madoguchi.desk import services
    from madoguchi.desk.models import Visit
    from madoguchi.identity.models import Holder, HolderCertificate
    from madoguchi.terminals.models import DeskSession
    from tests import cardkit

    visit = start_visit(desk, "A")
    add_test_link(desk, "PAY-A-0001")
    Visit.objects.filter(pk=visit.pk).update(handover_at=timezone.now())
    second = HolderCertificate.objects.create(
        holder=Holder.objects.create(),
        issuer_dn="CN=test",
        serial="b",
        fingerprint=cardkit.fingerprint(trusted.card("B")),
        not_after=timezone.now() + timezone.timedelta(days=365),
    )
    session = DeskSession.objects.get(staff=desk.staff, closed_at__isnull=True)
    services.visit_companion_set(desk_session=session, certificate=second)
    return visit


def test_waiting_for_the_representatives_card_can_be_cancelled_and_says_which_card_timed_out(
    desk, trusted
):
    """Two cards sign: the resident's card signed, the page waits (up to 120 s) for the
    representative's with the PIN pad and its Cancel hidden, the sign button disabled: no way
    out, and Cancel did not stop the wait (no agent request pending), so the PIN pad came up
    when the card came. Its timeout said 「時間内に暗証番号が入力されませんでした…」 although a
    card was missing. Now Cancel shows beside the request for the card and stops the flow (the
    card coming later opens no PIN pad), 「中止しました。」 says what to do next, and the timeout
    (the page's clock moved on) names the card that did not come."""
    page = desk.page
    page.clock.install()  # time flows; fast_forward below moves it on two minutes
    _two_card_visit(desk, trusted)
    desk.go("/desk/visit/confirm/")
    expect(page.get_by_test_id("two-cards")).to_be_visible()
    tick(desk, BEFORE)
    sign = page.get_by_test_id("sign-completion")
    sign.click()
    desk.test_pin()  # A is on the reader: the resident's card signs first
    status = page.get_by_test_id("flow-status")
    expect(status).to_contain_text("法定代理人のカード")
    cancel = page.get_by_test_id("card-wait-cancel")
    expect(cancel).to_be_visible()
    expect(sign).to_be_disabled()
    cancel.click()
    error = page.get_by_test_id("flow-error")
    expect(error).to_have_text(
        "中止しました。何も記録していません。続けるには、もう一度同じボタンを押してください。"
    )
    expect(cancel).to_be_hidden()
    expect(sign).to_be_enabled()
    # The representative's card comes after the Cancel: the stopped flow asks for no PIN.
    desk.remove()
    desk.insert("B")
    expect(page.get_by_test_id("card-state")).to_have_attribute("data-state", "present")
    page.wait_for_timeout(2_000)
    expect(page.get_by_test_id("pinpad-frame")).to_be_hidden()
    assert desk.agent.book.pending() == []

    # Again, with B on the reader: the resident's card is asked for first, and never comes.
    sign.click()
    expect(status).to_contain_text("ご本人のカード")
    expect(cancel).to_be_visible()
    page.clock.fast_forward(121_000)
    expect(error).to_contain_text("ご本人のカードが時間内に読み取り機に置かれなかったため")
    expect(error).not_to_contain_text("暗証番号")
    expect(cancel).to_be_hidden()
    expect(sign).to_be_enabled()
