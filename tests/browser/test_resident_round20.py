"""Round 20 on the resident's page in chromium: a receipt opened on the kiosk goes with the card,
the page after a report fits a phone at 200% zoom, and a printed page holds the records alone."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from madoguchi.residents.models import ResidentSession

from .conftest import ARTIFACTS, resident_page_origin
from .test_narrow_window import LINES
from .test_resident import completion_of, me_pin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in_on_the_kiosk(desk, ctx, me_url: str):
    me = ctx.new_page()
    me.goto(me_url + "/me/?kiosk=1")
    me.get_by_test_id("tray-insert-C").click()
    expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
    me.get_by_test_id("me-sign-in").click()
    me_pin(desk, me)
    me.wait_for_url(re.compile(r"/me/records/$"))
    return me


def test_a_receipt_shown_on_the_kiosk_goes_with_the_card(desk, browser, settings, trusted):
    """The receipt's link opened the PDF in the kiosk's tab: chromium's PDF viewer, with no
    script watching the card, stayed on the screen after the card was taken out, the first
    resident's receipt there for the next one. It is shown inside the records page now (nothing
    downloaded onto the kiosk), and within 2 s of the card leaving the page is the start screen,
    nothing of the receipt or the records left."""
    completion = completion_of(trusted.card("C"), desk.url)
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(
        locale="ja-JP", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    ctx.set_default_timeout(15_000)
    downloads: list[str] = []
    errors: list[str] = []
    try:
        me = _signed_in_on_the_kiosk(desk, ctx, me_url)
        me.on("download", lambda d: downloads.append(d.suggested_filename))
        me.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        receipt = me.get_by_test_id("me-receipt")
        with me.expect_response(re.compile(r"/me/receipts/\d+\.pdf$")) as shown:
            receipt.click()
        assert shown.value.status == 200
        assert shown.value.headers["content-type"] == "application/pdf"
        viewer = me.get_by_test_id("me-pdf-viewer")
        expect(viewer).to_be_visible()
        expect(me.get_by_test_id("me-pdf-close")).to_be_focused()
        frame = viewer.locator("iframe")
        # Chromium's viewer without its toolbar, whose download button would leave the file
        # on the kiosk.
        assert frame.get_attribute("src", timeout=5_000).endswith(
            f"/me/receipts/{completion.pk}.pdf#toolbar=0"
        )
        assert (frame.bounding_box() or {}).get("height", 0) > 300
        me.wait_for_timeout(1_000)  # chromium's viewer at work in its frame
        assert me.url.endswith("/me/records/"), me.url
        assert downloads == []
        expect(receipt).to_contain_text("控えを表示する")  # not "download" on a kiosk
        me.screenshot(path=str(ARTIFACTS / "round20-kiosk-receipt.png"))
        # "Close the PDF" takes it away and gives the focus back to its link.
        me.get_by_test_id("me-pdf-close").click()
        expect(viewer).to_have_count(0)
        expect(receipt).to_be_focused()
        receipt.click()
        expect(viewer).to_be_visible()

        desk.remove()
        taken_out = time.monotonic()
        expect(me.locator("iframe")).to_have_count(0, timeout=2_000)
        expect(me.get_by_test_id("me-start")).to_be_visible(timeout=30_000)
        assert time.monotonic() - taken_out < 5  # the start screen itself, generously
        assert "/me/receipts/" not in me.url
        assert not [f.url for f in me.frames if "/me/receipts/" in f.url]
        assert completion.visit.reference not in me.locator("body").inner_text()
        assert ResidentSession.objects.get().end_reason == "card_removed"
        assert downloads == []
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        ctx.close()


def test_the_page_after_a_report_fits_a_phone_at_200_percent_zoom(desk, browser, settings, trusted):
    """A 360 px phone at 200% zoom (180 CSS px): the call centre's number, kept on one line,
    ran 25 px past the screen and the page scrolled sideways. It breaks after a hyphen, never
    inside a group of digits; at 390 px it is still one line."""
    completion = completion_of(trusted.card("C"), desk.url)
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(
        locale="ja-JP",
        viewport={"width": 180, "height": 320},
        device_scale_factor=4,
        is_mobile=True,
        has_touch=True,
    )
    ctx.set_default_timeout(15_000)
    overflow = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    try:
        me = _signed_in_on_the_kiosk(desk, ctx, me_url)
        assert me.evaluate(overflow) == 0  # the records, their call centre in the intro
        me.get_by_test_id(f"not-me-completion-{completion.pk}").tap()
        me.locator("label[for=r-not_at_desk]").tap()
        me.get_by_test_id("not-me-submit").tap()
        expect(me.get_by_test_id("report-reference")).to_be_visible()
        assert me.evaluate(overflow) == 0
        # The number's own lines (its box, an inline-block, is not one of them).
        number = me.get_by_test_id("call-centre").locator(".phone")
        groups = number.locator(".nowrap")
        assert groups.all_inner_texts() == ["0120-", "95-", "0178"]
        assert [g.evaluate(LINES) for g in groups.all()] == [1, 1, 1]
        assert number.evaluate(LINES) > 1  # broken, at a hyphen
        me.screenshot(path=str(ARTIFACTS / "round20-reported-200-percent.png"))
        me.set_viewport_size({"width": 390, "height": 844})
        assert number.evaluate(LINES) == 1
        me.screenshot(path=str(ARTIFACTS / "round20-reported-390.png"))
    finally:
        ctx.close()


def test_a_printed_records_page_holds_the_records_and_no_controls(desk, browser, settings, trusted):
    """Printing the records printed the header's buttons, the banner, the demo tray, every
    "this was not me" and receipt button, in the header's dark colours, and let a record's card
    break across two pages. Printed, the page holds the records alone, each record whole."""
    completion_of(trusted.card("C"), desk.url)
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        me = _signed_in_on_the_kiosk(desk, ctx, me_url)
        controls = {
            "finish": me.get_by_test_id("sign-out"),
            "banner": me.get_by_test_id("me-banner"),
            "tray": me.get_by_test_id("tray"),
            "receipt": me.get_by_test_id("me-receipt"),
            "not me": me.locator("[data-testid^=not-me-completion]"),
        }
        # The idle warning, as it shows before the idle limit.
        me.evaluate("() => { document.querySelector('[data-role=idle-warning]').hidden = false; }")
        controls["idle warning"] = me.get_by_test_id("me-idle-warning")
        assert all(c.first.is_visible() for c in controls.values())
        me.emulate_media(media="print")
        shown = {name: c.first.is_visible() for name, c in controls.items()}
        assert shown == dict.fromkeys(controls, False), shown
        record = me.get_by_test_id("me-completion").first
        expect(record).to_be_visible()
        expect(me.get_by_test_id("me-history")).to_be_visible()
        assert record.evaluate("e => getComputedStyle(e).breakInside") == "avoid"
        header = me.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor")
        assert header in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), header
        pdf = me.pdf(path=str(ARTIFACTS / "round20-records-printed.pdf"))
        assert pdf.startswith(b"%PDF")
    finally:
        ctx.close()
