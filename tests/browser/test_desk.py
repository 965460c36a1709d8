"""The desk as staff and residents see it, in chromium, against a live server and the card agent."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.incidents.models import Incident

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BEFORE = ["card_face_matches", "pin_by_resident", "payment_card_in_name", "summary_confirmed"]


def start_visit(desk, card="A", *, typed=False):
    desk.insert(card)
    page = desk.page
    desk.go("/desk/")
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.get_by_test_id("start-visit").click()
    if typed:
        desk.type_pin()
    else:
        desk.test_pin()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    expect(page.get_by_test_id("card-state")).to_have_attribute("data-state", "present")
    return Visit.objects.get(ended_at__isnull=True, terminal=desk.terminal)


def add_test_link(desk, account, points="3000"):
    page = desk.page
    page.get_by_test_id("add-test_link").click()
    page.fill("input[name=account]", account)
    page.fill("input[name=points]", points)
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))


def tick(desk, codes):
    for code in codes:
        box = desk.page.locator(f"#ck-{code}")
        box.check()
        expect(desk.page.locator(f"#ck-{code}")).to_be_checked()
        # htmx swapped the fieldset back from the server: the tick is recorded.
        expect(desk.page.locator(f"#ck-{code} ~ .tick-meta")).to_be_visible()


def test_happy_path_test_link(desk):
    page = desk.page
    desk.shot("01-waiting")
    visit = start_visit(desk, "A", typed=True)
    banner = page.get_by_test_id("visit-banner")
    expect(banner).to_contain_text(visit.reference)
    add_test_link(desk, "PAY-A-0001")
    expect(page.get_by_test_id("procedures")).to_contain_text("テスト用の紐付け")
    desk.shot("02-visit")
    page.get_by_test_id("to-confirm").click()
    lines = page.get_by_test_id("commit-lines")
    expect(lines).to_contain_text("口座 PAY-A-0001 に 3000 ポイント")
    expect(lines).to_contain_text(f"受付 {visit.reference}")
    tick(desk, BEFORE)
    desk.shot("03-confirm")
    page.get_by_test_id("sign-completion").click()
    frame = page.frame_locator("[data-testid=pinpad-frame]")
    # The PIN pad shows the same lines the card signs.
    expect(frame.locator("body")).to_contain_text("PAY-A-0001")
    desk.shot("04-pinpad")
    desk.type_pin()
    page.wait_for_url(re.compile(r"/desk/visit/receipt/$"))
    expect(page.get_by_test_id("receipt")).to_contain_text("PAY-A-0001")
    completion = Completion.objects.get(visit=visit)
    assert completion.procedures.get().status == ProcedureStatus.COMMITTED
    assert b"PAY-A-0001" in bytes(completion.transaction_bytes)
    tick(desk, ["receipt_handed", "visit_ended"])
    desk.shot("05-receipt")
    page.get_by_test_id("next-resident").click()
    page.wait_for_url(re.compile(r"/desk/$"))
    visit.refresh_from_db()
    assert visit.end_reason == VisitEndReason.NEXT_RESIDENT
    ticks = ChecklistTick.objects.filter(visit=visit)
    assert set(ticks.values_list("item__code", flat=True)) == {
        *BEFORE,
        "receipt_handed",
        "visit_ended",
    }
    assert all(t.staff_id == desk.staff.pk for t in ticks)
