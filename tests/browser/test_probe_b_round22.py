"""Side doors, round 22 (probe B), in chromium: the resident's page when its card agent stops."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from madoguchi.residents.models import ResidentSession

from .conftest import resident_page_origin
from .test_resident import completion_of, me_pin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_records_leave_the_screen_when_the_card_agent_stops_answering(
    desk, browser, settings, trusted
):
    """Resident A's records are on the kiosk's screen; the card agent stops (it crashed, it is
    restarting, the PC/SC service went away); A takes the card and leaves. Nothing can tell
    the page the card is gone, and the server ends the session for want of a heartbeat
    (`presence_lost`, 6 s), but the page's heartbeat is sent only after the agent answered
    `/status`: the records stay on the screen until the page's own idle timer (2 minutes),
    which the next person restarts by scrolling them. A page that can no longer learn where
    the card is closes, as the server already has, and its start page says why."""
    completion = completion_of(trusted.card("C"), desk.url)
    me_url = resident_page_origin(desk.url)
    settings.RESIDENT_ORIGIN = me_url
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 6  # the product's default
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        me = ctx.new_page()
        me.goto(me_url + "/me/?kiosk=1")
        me.get_by_test_id("tray-insert-C").click()
        expect(me.locator("[data-role=presence]")).to_contain_text("カードが置かれています")
        me.get_by_test_id("me-sign-in").click()
        me_pin(desk, me)
        me.wait_for_url(re.compile(r"/me/records/$"))
        expect(me.get_by_test_id("me-completion")).to_be_visible()
        desk.agent.stop()  # the agent goes away; A takes the card and leaves
        for _ in range(20):  # someone at the kiosk scrolls the page now and then
            me.mouse.wheel(0, 50)
            me.wait_for_timeout(1_000)
            if me.get_by_test_id("me-start").count():
                break
        expect(me.get_by_test_id("me-start")).to_be_visible(timeout=1_000)
        assert completion.visit.reference not in me.locator("body").inner_text()
        # Why, in the resident's words; and the server's end is the presence limit's.
        expect(me.get_by_test_id("me-ended")).to_contain_text(
            "6秒のあいだ、カードがカードリーダーに置かれたままか確かめられなかったため"
        )
        assert ResidentSession.objects.get().end_reason == "presence_lost"
    finally:
        ctx.close()
