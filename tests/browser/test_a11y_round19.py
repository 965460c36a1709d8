"""Round 19 (docs/security.md, docs/desk.md "Accessibility"): keyboard-only staff and a
screen reader on the desk. A field's error and hint are its description (Django names
`<id>_error` and `<id>_helptext`, which the pages never rendered); a refusal after the PIN
takes the focus; the last minute before inactivity is said in words; a field the keyboard
reaches is not under the sticky banner; the PIN pad's "read to the end" is the list's
description."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .test_benefits import outside_systems  # noqa: F401 - fixture
from .test_desk import start_visit
from .test_pinpad_keyboard import host  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OBSCURED_JS = r"""() => {
  const e = document.activeElement;
  const b = document.querySelector('[data-testid=visit-banner]');
  if (!e || e === document.body || !b) return null;
  const r = e.getBoundingClientRect(), br = b.getBoundingClientRect();
  const hidden = r.top < br.bottom && r.bottom > br.top;
  const x = r.left + Math.min(10, r.width / 2), y = r.top + r.height / 2;
  const top = document.elementFromPoint(x, y);
  return {tag: e.tagName, name: e.name || e.dataset.testid || (e.textContent||'').trim().slice(0,30),
          top: Math.round(r.top), bottom: Math.round(r.bottom), bannerBottom: Math.round(br.bottom),
          covered: hidden && !!top && b.contains(top)};
}"""


def test_procedure_form_errors_are_tied_to_their_fields_and_announced(desk):
    """Keyboard staff send the test link form empty: each field's error must be its description
    (aria-describedby naming an element that exists), and the focus or an alert must say so."""
    page = desk.page
    start_visit(desk, "A")
    desk.go("/desk/visit/procedures/test_link/")
    page.get_by_test_id("procedure-submit").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    field = page.locator("input[name=account]")
    expect(field).to_have_attribute("aria-invalid", "true")
    described = field.get_attribute("aria-describedby")
    found = page.evaluate(
        "ids => ids.split(/\\s+/).map(i => !!document.getElementById(i))", described
    )
    assert all(found), f"aria-describedby={described!r} names no element on the page"
    # Nothing announces the errors: no alert, and the focus is left at the top of the page.
    alerts = page.locator("[role=alert]:visible, [aria-live]:visible").all_inner_texts()
    assert any("必須" in a for a in alerts) or page.evaluate(
        "() => document.activeElement !== document.body"
    ), alerts


def test_the_procedure_forms_help_text_is_the_fields_description(desk, outside_systems):  # noqa: F811
    """The point application's kana field has help text; Django points aria-describedby at
    id_resident_kana_helptext, which the template never renders: a screen reader reads no
    description."""
    page = desk.page
    start_visit(desk, "A")
    desk.go("/desk/visit/procedures/point_application/")
    field = page.locator("input[name=resident_kana]")
    described = field.get_attribute("aria-describedby")
    assert described
    assert page.evaluate("i => !!document.getElementById(i)", described), described


def test_a_refusal_after_the_pin_takes_the_focus(desk):
    """The server refuses the visit's start after the resident typed the PIN: the error shows
    (role=alert) and the keyboard focus goes to it (desk.js fail() calls el.focus() on it)."""
    page = desk.page
    desk.insert("A")
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.route(
        "**/api/v1/visits/start",
        lambda route: route.fulfill(
            status=409,
            content_type="application/json",
            body=json.dumps(
                {"code": "x", "message": "Refused.", "message_ja": "確定できませんでした。"}
            ),
        ),
    )
    page.get_by_test_id("start-visit").focus()
    page.keyboard.press("Enter")
    desk.type_pin()
    error = page.get_by_test_id("flow-error")
    expect(error).to_have_text("確定できませんでした。")
    page.wait_for_timeout(300)
    active = page.evaluate(
        "() => document.activeElement.tagName + ' ' + (document.activeElement.dataset.testid||'')"
    )
    assert active == "P flow-error", active


def test_pin_blocked_at_the_start_of_a_visit_keeps_the_keyboard_on_the_page(desk):
    """Three wrong PINs typed at the start: the desk says the PIN is blocked; where is the
    keyboard focus then?"""
    page = desk.page
    desk.insert("A")
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.get_by_test_id("start-visit").focus()
    page.keyboard.press("Enter")
    pin = page.frame_locator("[data-testid=pinpad-frame]").get_by_test_id("pin")
    for _ in range(3):
        expect(pin).to_be_focused(timeout=10_000)
        page.keyboard.type("9999")
        page.keyboard.press("Enter")
        page.wait_for_timeout(800)
    error = page.get_by_test_id("flow-error")
    expect(error).to_be_visible(timeout=15_000)
    page.wait_for_timeout(300)
    active = page.evaluate(
        "() => document.activeElement.tagName + ' ' + (document.activeElement.dataset.testid||'')"
    )
    assert active == "P flow-error", active


def test_the_desk_inactivity_warning_is_announced(desk, settings):
    """In the last minute before inactivity ends the visit, the banner only turns the time red;
    nothing is announced (no live region, no words)."""
    settings.VISIT_INACTIVITY_SECONDS = 65
    page = desk.page
    start_visit(desk, "A")
    desk.go("/desk/visit/")
    left = page.get_by_test_id("time-left")
    expect(left).to_have_class(re.compile(r"\bwarn\b"), timeout=20_000)
    info = left.evaluate(
        "e => ({text: e.textContent, live: e.closest('[aria-live],[role=alert],[role=status]') ? 1 : 0,"
        " color: getComputedStyle(e).color})"
    )
    alerts = page.locator(
        "[role=alert]:visible, [role=status]:visible, [aria-live]:visible"
    ).all_inner_texts()
    assert info["live"] or any(a.strip() for a in alerts if "分" in a or "終了" in a), (
        info,
        alerts,
    )


def test_shift_tab_on_a_procedure_form_keeps_the_focus_out_from_under_the_banner(desk):
    """Keyboard staff go back up a long form with Shift+Tab in a short window: the browser
    scrolls each field to the top edge, under the sticky visit banner."""
    page = desk.page
    page.set_viewport_size({"width": 1280, "height": 560})
    start_visit(desk, "A")
    desk.go("/desk/visit/procedures/health_insurance_use/")
    page.get_by_test_id("procedure-submit").focus()
    covered = []
    for _ in range(14):
        page.keyboard.press("Shift+Tab")
        page.wait_for_timeout(150)
        f = page.evaluate(OBSCURED_JS)
        if f and f["covered"]:
            covered.append(f)
    assert covered == [], covered


def test_the_read_to_the_end_instruction_is_the_lists_description(
    browser,
    card_files,
    host,  # noqa: F811
):
    """Twelve long signed lines: the PIN pad gives the list the focus and keeps the PIN closed
    until it is read to the end. A screen reader, on the focused list, hears its name
    (署名する内容) and should hear why the PIN field is not open yet."""
    from .test_pinpad_keyboard import LONG_LINES, _pinpad

    with _pinpad(browser, card_files, host, LONG_LINES) as (_agent, page, _url):
        frame = page.frame_locator("#frame")
        lines = frame.get_by_test_id("signed-lines")
        lines.wait_for(state="visible")
        assert lines.evaluate("l => document.activeElement === l")
        info = lines.evaluate(
            "l => ({describedby: l.getAttribute('aria-describedby'), "
            "hint: (document.getElementById('read-all')||{}).hidden, "
            "hintText: (document.getElementById('read-all')||{}).textContent})"
        )
        assert info["describedby"] == "read-all", info


def test_the_resident_page_warns_before_it_closes_and_can_be_kept_open(desk, browser, settings):
    """A resident listening with a screen reader makes no keystroke the page sees: the page
    closed on its idle limit with no warning (WCAG 2.2.1). It now warns, as an alert, and a
    button keeps it open."""
    from .conftest import resident_page_origin
    from .test_resident import me_pin

    settings.RESIDENT_IDLE_SECONDS = 12
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    ctx = browser.new_context(locale="ja-JP")
    ctx.set_default_timeout(15_000)
    try:
        me = ctx.new_page()
        me.goto(me_url + "/me/?kiosk=1")
        me.get_by_test_id("tray-insert-C").click()
        expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
        me.get_by_test_id("me-sign-in").click()
        me_pin(desk, me)
        me.wait_for_url(re.compile(r"/me/records/$"))
        warning = me.get_by_test_id("me-idle-warning")
        expect(warning).to_be_hidden()
        expect(warning).to_be_visible(timeout=12_000)
        assert warning.get_attribute("role") == "alert"
        expect(warning).to_contain_text("このページはあと")
        me.get_by_test_id("me-stay").click()
        expect(warning).to_be_hidden()
        me.wait_for_timeout(5_000)  # past the limit counted from before the press
        assert re.search(r"/me/records/$", me.url), me.url
    finally:
        ctx.close()
