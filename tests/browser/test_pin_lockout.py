"""A PIN blocked at the desk becomes an incident: the agent tells the page, the page tells the
server."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from madoguchi.audit.models import AuditEvent
from madoguchi.desk.models import Visit
from madoguchi.incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_three_wrong_pins_block_the_card_and_record_an_incident(desk):
    page = desk.page
    desk.insert("C")
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.get_by_test_id("start-visit").click()
    page.get_by_test_id("pinpad-frame").wait_for(state="visible")
    request_id = desk.pending_request()
    for _ in range(3):
        httpx.post(
            f"{desk.agent_url}/test/pin", json={"request_id": request_id, "pin": "0000"}, timeout=10
        ).raise_for_status()
    # The page says the card is blocked, in Japanese, and no visit starts.
    expect(page.locator("[data-role=flow-error]")).to_be_visible()
    assert "ロック" in page.locator("[data-role=flow-error]").inner_text()
    deadline = time.monotonic() + 60  # a poll: returns as soon as it is recorded
    while time.monotonic() < deadline and not Incident.objects.filter(kind="pin_locked").exists():
        time.sleep(0.1)
    incident = Incident.objects.get(kind="pin_locked")
    assert incident.terminal == desk.terminal
    assert incident.staff == desk.staff
    assert not Visit.objects.exists()
    # The page names the card in the reader (the agent's fingerprint): starting again with the
    # locked card adds to that incident rather than recording another (a walk, 2026-12-02).
    assert len(incident.detail["certificate"]) == 64
    page.get_by_test_id("start-visit").click()
    seen = AuditEvent.objects.filter(
        event_name="incidents.pin_lock_seen_again", subject_id=str(incident.pk)
    )
    deadline = time.monotonic() + 60  # a poll: returns as soon as it is recorded
    while time.monotonic() < deadline and not seen.exists():
        time.sleep(0.1)
    assert seen.count() == 1
    assert Incident.objects.filter(kind="pin_locked").count() == 1
