"""The resident's own page in chromium: sign in with the card from the demo tray, see the link
made at the desk a moment earlier and the desk's view of it in the access history, report
"this was not me", the official sees the new case; taking the card out closes the page."""

from __future__ import annotations

import re

import httpx
import pytest
from django_otp.oath import totp
from playwright.sync_api import Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from madoguchi.accounts.constants import Role
from madoguchi.residents.models import NotMeReport, ResidentSession
from madoguchi.terminals import services as terminal_services
from tests import cardkit, factories
from tests.residents.test_resident_page import desk_completion

from .conftest import ARTIFACTS, resident_page_origin
from .test_benefits import add, outside_systems  # noqa: F401 - fixture
from .test_desk import BEFORE, start_visit, tick
from .test_narrow_window import BROKEN_WORDS, LINES

HEARTBEAT = re.compile(r"/me/heartbeat$")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def me_pin(desk, page) -> None:
    """Answer the resident page's PIN pad through the agent's test door."""
    frame = page.get_by_test_id("pinpad-frame")
    frame.wait_for(state="visible")
    m = re.search(r"/pinpad/([^?]+)", frame.get_attribute("src") or "")
    assert m
    httpx.post(
        f"{desk.agent_url}/test/pin",
        json={"request_id": m.group(1), "pin": cardkit.PIN},
        timeout=10,
    ).raise_for_status()


def assert_fits(page) -> None:
    """Nothing on the page reaches past the viewport's width (no horizontal scrolling, nothing
    cut off inside a scrolling box), and no button's label wraps inside a word."""
    found = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const over = [...document.querySelectorAll('body *')]
            .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > width + 1)
            .map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30));
          const tall = [...document.querySelectorAll('.topbar .btn')]
            .filter(b => b.getClientRects().length && b.getBoundingClientRect().height > 64)
            .map(b => b.textContent.trim());
          return {scroll: document.documentElement.scrollWidth - width, over, tall};
        }"""
    )
    assert found == {"scroll": 0, "over": [], "tall": []}, found


def checked_while_open(me, status_url, *, times: int) -> None:
    """Wait for the page's next `times` card checks; the resident session is still open after
    them and the page still shows the records (not the start screen it closes to)."""
    for _ in range(times):
        try:
            with me.expect_request(status_url, timeout=10_000):
                pass
        except PlaywrightTimeout:
            break  # a closed page stops checking: the assertion below says why
    ended = ResidentSession.objects.values_list("end_reason", flat=True).get()
    assert (ended, me.get_by_test_id("me-start").count()) == ("", 0), me.url


@pytest.mark.usefixtures("outside_systems")
def test_resident_page_link_history_not_me_and_card_removal(desk, browser, settings):
    page = desk.page
    # At the desk: resident C (山田　太郎) links a payment service, signed with the card.
    start_visit(desk, "C")
    add(
        desk,
        "point_application",
        {
            "provider": "sim-pay",
            "payment_service_id": "7010000000000001",
            "security_code": "123",
            "resident_kana": "ヤマダ タロウ",
            "resident_kana_confirmed": "on",
        },
    )
    page.get_by_test_id("to-confirm").click()
    tick(desk, BEFORE)
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()  # the staff member views it
    desk.remove()  # the card goes back to the resident; the visit ends

    # The resident page (kiosk), in its own browser, on its own origin.
    me_url = resident_page_origin(desk.url)
    assert me_url != desk.url
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 1000})
    ctx.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        me = ctx.new_page()
        me.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        me.goto(me_url + "/me/?kiosk=1")
        expect(me.get_by_test_id("me-start")).to_be_visible()
        me.get_by_test_id("tray-insert-C").click()  # the demo tray on the resident page
        expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
        me.get_by_test_id("me-sign-in").click()
        me_pin(desk, me)
        me.wait_for_url(re.compile(r"/me/records/$"))
        response = me.request.get(me_url + "/me/records/")
        assert "no-store" in response.headers["cache-control"]
        link = me.get_by_test_id("me-link").first
        expect(link).to_contain_text("シミュレーションペイ")
        expect(link).to_contain_text("＊＊＊＊0001")
        expect(link).to_contain_text("一致")  # the name check in words
        assert "7010000000000001" not in me.locator("body").inner_text()
        history = me.get_by_test_id("me-history")
        expect(history).to_contain_text("窓口：署名後の控え画面")
        expect(history).to_contain_text("窓口スタッフ")
        me.screenshot(path=str(ARTIFACTS / "20-resident-records.png"), full_page=True)
        # Each read's time on one line: at 1280 px the date broke inside itself (令和8年12月2 / 日)
        # beside the reason's sentence.
        when = me.locator("[data-testid=me-history-row] td").first
        assert when.evaluate(LINES) == 1, when.inner_text()
        # In English, a reader's role and the page break between words, never inside one: they
        # read "Contract|or supervis|or" and "confirmatio|n before signing" beside the tray,
        # once the contractor's supervisor had read the desk's daily report.
        from django.test import RequestFactory

        from madoguchi.identity.access import record_read

        request = RequestFactory().get("/reports/")
        request.user = factories.staff(Role.SUPERVISOR)
        holder = ResidentSession.objects.order_by("-pk").first().holder
        record_read(request, holder, page="reports.daily")
        me.goto(me_url + "/me/records/?lang=en")
        cells = me.locator("[data-testid=me-history-row] td.label")
        expect(cells.first).to_be_visible()
        assert cells.evaluate_all(BROKEN_WORDS) == [], cells.all_inner_texts()
        # At 1024 px the card beside the tray is narrower than the five columns need: each read
        # is a block of names and values, nothing past the card's edge (the reasons ran into a
        # sideways scroll) and no word broken.
        me.set_viewport_size({"width": 1024, "height": 1000})
        card = me.get_by_test_id("me-history")
        assert card.evaluate("e => e.scrollWidth - e.clientWidth") <= 0
        cells = me.locator("[data-testid=me-history-row] td")
        assert cells.evaluate_all(BROKEN_WORDS) == [], cells.all_inner_texts()
        me.set_viewport_size({"width": 1280, "height": 1000})
        me.goto(me_url + "/me/records/?lang=ja")
        # On a phone (390 px), in both languages, nothing runs off the screen: a record's
        # labels and values side by side pushed the English values 40 px past the edge, and
        # the header's buttons broke one character per line.
        me.set_viewport_size({"width": 390, "height": 844})
        assert_fits(me)
        me.goto(me_url + "/me/records/?lang=en")
        assert_fits(me)
        me.goto(me_url + "/me/records/?lang=ja")
        me.set_viewport_size({"width": 1280, "height": 1000})
        link = me.get_by_test_id("me-link").first

        # A key pressed on the page is use of it, which the next heartbeat reports, so that
        # writing a comment for two minutes is not idle to the server. Every beat from the
        # press on is heard (one may leave between the press and the wait below, and one may
        # have been on its way already), until two more have left.
        reported_use: list[object] = []

        def heard(request: Request) -> None:
            if HEARTBEAT.search(request.url):
                reported_use.append(request.post_data_json.get("active"))

        me.on("request", heard)
        me.keyboard.press("Tab")
        for _ in range(2):
            with me.expect_request(HEARTBEAT):
                pass
        me.remove_listener("request", heard)
        assert True in reported_use, reported_use

        # "This was not me" on the link: an incident and a case, reference and call centre shown.
        # Meanwhile each of the page's card checks gets the agent's 200 with its body cut off,
        # as a navigation leaves it when it cuts the answer short: that says nothing about the
        # card. Read as "no card", it closed the page as card_removed on the resident's own
        # click (a walk, 1 Dec 2026); made certain here rather than left to the timing.
        status_url = re.compile(re.escape(desk.agent_url) + r"/status$")
        me.route(status_url, lambda route: route.fulfill(status=200, body=""))
        link.get_by_role("link", name="これは自分ではない").click()
        expect(me.get_by_test_id("not-me-form")).to_be_visible()
        checked_while_open(me, status_url, times=2)  # the not-me page's own checks, cut off too
        # Each reason is a row a finger can press (the kiosk is used by touch).
        choices = me.locator("[data-testid=not-me-form] .choice")
        expect(choices).to_have_count(4)
        assert all(c.bounding_box()["height"] >= 44 for c in choices.all())
        me.locator("#r-not_my_account").check()
        me.get_by_test_id("not-me-submit").click()
        reference = me.get_by_test_id("report-reference")
        expect(reference).to_have_text(re.compile(r"CASE-\d+"))
        expect(me.get_by_test_id("call-centre")).to_be_visible()
        # On a phone the number the resident is to call stays on one line: at 390 px it broke
        # after 0120-95- (a walk of the desk day, 2 Dec 2026).
        me.set_viewport_size({"width": 390, "height": 844})
        # (The number's own lines: its box, an inline-block, is not one of them.)
        assert me.get_by_test_id("call-centre").locator(".phone").evaluate(LINES) == 1
        me.set_viewport_size({"width": 1280, "height": 1000})
        ref = reference.inner_text()
        report = NotMeReport.objects.get()
        assert report.case.reference == ref
        me.screenshot(path=str(ARTIFACTS / "21-resident-reported.png"))
        checked_while_open(me, status_url, times=1)
        me.unroute(status_url)

        # Taking the card out closes the page by itself (no click). The page checks every
        # second or so; the bound is generous, since a loaded machine may take a while to
        # answer (it only catches a page that never closes).
        me.get_by_role("link", name="わたしの記録に戻る").click()
        me.wait_for_url(re.compile(r"/me/records/$"))
        desk.remove()
        expect(me.get_by_test_id("me-start")).to_be_visible(timeout=30_000)
        assert "＊＊＊＊0001" not in me.locator("body").inner_text()
        assert ResidentSession.objects.get().end_reason == "card_removed"
        me.go_back()  # nothing comes back
        expect(me.get_by_test_id("me-start")).to_be_visible()
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        ctx.close()

    # The city official sees the new case at once.
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        o = ctx.new_page()
        o.goto(desk.url + "/accounts/sign-in/")
        o.fill("input[name=username]", official.username)
        o.fill("input[name=password]", factories.PASSWORD)
        o.fill("input[name=otp_token]", f"{totp(device.bin_key):06d}")
        o.locator("main form button[type=submit]").click()
        o.wait_for_url(re.compile(r"/officials/$"))
        o.goto(desk.url + "/cases/?reason=resident_inquiry")
        row = o.get_by_test_id("case-list").locator("tr", has_text=ref)
        expect(row).to_contain_text("本人からの申し出")
    finally:
        ctx.close()


def assert_reachable(page, button) -> None:
    """A button a resident can press: scrolled to, wholly inside the screen's width, tall
    enough for a finger on the kiosk, and not covered by anything (the element at its centre is
    the button or inside it)."""
    button.scroll_into_view_if_needed()
    box = button.bounding_box()
    assert box is not None, button
    width = page.viewport_size["width"]
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= width, (box, width)
    assert box["height"] >= 44, box
    on_top = button.evaluate(
        """b => {
          const r = b.getBoundingClientRect();
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return hit !== null && (hit === b || b.contains(hit));
        }"""
    )
    assert on_top, button


def completion_of(card, origin: str):
    """A visit at another terminal's desk and one signed completion (the stand-in test link),
    made through the services: what this walk checks is the resident's page, not the desk's."""
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    return desk_completion(desk, card, "PAY-C-0003", origin=origin)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_resident_walks_sign_in_records_and_a_report_on_a_phone_and_a_desktop(
    desk, browser, settings, trusted, width
):
    """The resident's pages walked as a resident does, at a phone's width (390 px) and a
    desktop's (1280 px): the start page, the card's sign-in, the records, "this was not me",
    the page after it, and the records again. On each page nothing runs past the screen's
    width and each button the resident presses next is on the screen, wide enough apart and
    not covered. Back on the records the reported record says it was reported (and when),
    no longer offering the button, and "your reports" links to it."""
    completion = completion_of(trusted.card("C"), desk.url)
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(locale="ja-JP", viewport={"width": width, "height": 844})
    ctx.set_default_timeout(15_000)
    try:
        me = ctx.new_page()
        me.goto(me_url + "/me/?kiosk=1")
        expect(me.get_by_test_id("me-start")).to_be_visible()
        assert_fits(me)
        assert_reachable(me, me.get_by_test_id("tray-insert-C"))
        me.get_by_test_id("tray-insert-C").click()
        expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
        assert_reachable(me, me.get_by_test_id("me-sign-in"))
        me.get_by_test_id("me-sign-in").click()
        me_pin(desk, me)
        me.wait_for_url(re.compile(r"/me/records/$"))
        expect(me.get_by_test_id("me-completion")).to_have_count(1)
        assert_fits(me)
        assert_reachable(me, me.get_by_test_id("sign-out"))
        assert_reachable(me, me.get_by_test_id("me-receipt"))
        not_me = me.get_by_test_id(f"not-me-completion-{completion.pk}")
        assert_reachable(me, not_me)
        not_me.click()

        expect(me.get_by_test_id("not-me-form")).to_be_visible()
        assert_fits(me)
        me.locator("label[for=r-not_at_desk]").click()
        me.fill("#comment", "その日は窓口に行っていません。")
        assert_reachable(me, me.get_by_test_id("not-me-submit"))
        me.get_by_test_id("not-me-submit").click()

        reference = me.get_by_test_id("report-reference")
        expect(reference).to_have_text(re.compile(r"CASE-\d+"))
        ref = reference.inner_text()
        assert_fits(me)
        back = me.get_by_role("link", name="わたしの記録に戻る")
        assert_reachable(me, back)
        back.click()

        me.wait_for_url(re.compile(r"/me/records/$"))
        assert_fits(me)
        record = me.get_by_test_id("me-completion")
        expect(record.get_by_test_id("me-reported")).to_contain_text(ref)
        expect(me.get_by_test_id(f"not-me-completion-{completion.pk}")).to_have_count(0)
        report = me.get_by_test_id("me-report")
        expect(report).to_contain_text("お申し出を受け付けました。市が確認します。")
        to_record = report.get_by_role("link")
        assert_reachable(me, to_record)
        to_record.click()
        expect(me).to_have_url(re.compile(rf"#completion-{completion.pk}$"))
        expect(record).to_be_in_viewport()
        me.screenshot(path=str(ARTIFACTS / f"22-resident-reported-records-{width}.png"))
        me.goto(me_url + "/me/records/?lang=en")
        expect(me.get_by_test_id("me-reported")).to_contain_text("You reported on")
        assert_fits(me)
        assert NotMeReport.objects.count() == 1
        # The reference stays whole where a sentence's line ends: "Your reports" read
        # "CASE-" on one line and "00001" on the next at 1024 px in English.
        said = me.locator("[data-testid=me-report], [data-testid=me-reported]")
        for at in (width, 1024):
            me.set_viewport_size({"width": at, "height": 844})
            assert said.evaluate_all(BROKEN_WORDS) == [], (at, said.all_inner_texts())
    finally:
        ctx.close()
