"""The README's "Trying the demo", followed in chromium exactly as written, in order.

Every card, value and button name comes from the README's own text (parsed below), so the
walk-through and this test cannot drift apart; the data is the demo's own seed
(`madoguchi.core.demo.seed`), its residents' cards, the simulated provider, bank and insurer, and
the one-click enrolment of `madoguchi demo`. The live server stands in for `madoguchi serve`.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from madoguchi.benefits.models import PaymentLink, PublicFundAccount
from madoguchi.core import demo
from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.era import format_era
from madoguchi.incidents.models import Incident

from .conftest import ARTIFACTS
from .demo_kit import DemoDesk, demo_cards, demo_desk, demo_outside  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

README = Path(__file__).resolve().parents[2] / "README.md"


def demo_steps() -> list[str]:
    """The numbered steps of the README's "Trying the demo" section, as one string each."""
    text = README.read_text()
    section = text.split("## Trying the demo", 1)[1].split("\n## ", 1)[0]
    body = ("1. " + section.split("\n1. ", 1)[1]).split("\n\n", 1)[0]
    return [" ".join(s.split()) for s in re.split(r"\n(?=\d\. )", body)]


def one(pattern: str, text: str) -> str:
    m = re.search(pattern, text)
    assert m, f"the README no longer says {pattern!r} in: {text}"
    return m.group(1)


def tick_all(page):
    """Tick the checklist as staff do: one box at a time, each recorded before the next."""
    ids = page.locator(".checklist input[type=checkbox]").evaluate_all(
        "boxes => boxes.map(b => b.id)"
    )
    assert ids
    for box_id in ids:
        page.locator(f"#{box_id}").check()
        expect(page.locator(f"#{box_id} ~ .tick-meta")).to_be_visible()


def test_readme_steps_parse():
    steps = demo_steps()
    # Steps 1-5 are walked here; step 6 (the resident's page) by tests/browser/test_resident.py.
    assert len(steps) == 6, steps
    assert [s[:2] for s in steps] == ["1.", "2.", "3.", "4.", "5.", "6."]
    assert "/me/" in steps[5]


def test_readme_walkthrough_as_written(demo_desk: DemoDesk, browser):  # noqa: F811
    s1, s2, s3, s4, s5, _resident_page = demo_steps()
    page = demo_desk.page

    # 1. Enrol with one click as the named terminal.
    page.goto(demo_desk.url + one(r"Open http://127\.0\.0\.1:8000(/\S+/) ", s1))
    terminal = one(r"choose \*\*([\w-]+)\*\*", s1)
    page.get_by_role("button", name=terminal, exact=True).click()
    expect(page.locator("main")).to_contain_text(terminal)

    # 2. Sign in as desk staff.
    user, password = re.findall(r"`([^`]+)`", s2)[:2]
    page.get_by_role("link", name=one(r"Press \*\*([^*]+)\*\*", s2)).click()
    page.wait_for_url(re.compile(r"/accounts/sign-in/$"))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/desk/$"))

    # 3. Resident A: start with the card, a point application, confirm, sign, receipt.
    card_a = one(r"insert `([\w-]+)`", s3)
    name_a = one(r"insert `[\w-]+` \(([^)]+)\)", s3)
    page.get_by_test_id(f"tray-insert-{card_a}").click()
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.get_by_role("button", name=one(r"press \*\*([^*]+)\*\* \(start", s3)).click()
    demo_desk.type_pin()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    visit_a = Visit.objects.get(ended_at__isnull=True)
    # The README names the card's holder as the demo issued it.
    assert {r[0]: r[1].replace("\u3000", " ") for r in demo.RESIDENTS}[card_a] == name_a
    page.get_by_role("link", name=one(r"Add \*\*([^*]+)\*\*", s3)).click()
    page.get_by_label("決済サービスID").fill(one(r"payment service ID `(\d+)`", s3))
    page.get_by_label("セキュリティコード").fill(one(r"security code `(\d+)`", s3))
    page.get_by_label("ご本人のお名前（フリガナ）").fill(one(r"kana `([^`]+)`", s3))
    page.get_by_label("ご本人がフリガナを確認しました").check()
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_role(
        "link", name=one(r"press \*\*([^*]+)\*\* \(confirm with the resident", s3)
    ).click()
    lines = page.get_by_test_id("commit-lines")
    expect(lines).to_contain_text("このお手続きで付与されるポイント: なし")
    expect(lines).to_contain_text("今後のお手続きで付与: 健康保険証としての利用登録: 7,500ポイント")
    tick_all(page)
    page.get_by_role(
        "button", name=one(r"press \*\*([^*]+)\*\* \(confirm with the card", s3)
    ).click()
    demo_desk.type_pin()
    page.wait_for_url(re.compile(r"/desk/visit/receipt/$"))
    receipt = page.get_by_role("link", name=one(r"receipt \(\*\*([^*]+)\*\*\)", s3))
    pdf = page.request.get(demo_desk.url + receipt.get_attribute("href"), timeout=60_000)
    assert pdf.ok
    assert pdf.body().startswith(b"%PDF-")
    link_a = PaymentLink.objects.get()
    assert link_a.holder_id == visit_a.holder_id

    # 4. The incident: A's visit left open, B's public-fund account keyed into it, card swapped.
    page.get_by_role("link", name=one(r"Leave A's visit open \(\*\*([^*]+)\*\*", s4)).click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_role("link", name=one(r"resident B's \*\*([^*]+)\*\*", s4)).click()
    page.get_by_label("金融機関コード").fill(one(r"bank `(\d+)`", s4))
    page.get_by_label("支店コード").fill(one(r"branch `(\d+)`", s4))
    page.get_by_label("口座番号").fill(one(r"account `(\d+)`", s4))
    page.get_by_label("ご本人のお名前（フリガナ）").fill(one(r"kana `([^`]+)`", s4))
    page.get_by_label("ご本人がフリガナを確認しました").check()
    page.get_by_test_id("procedure-submit").click()
    # Prepared inside A's visit: nothing refused it for another reason.
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    pending = Procedure.objects.get(visit=visit_a, status=ProcedureStatus.PENDING)
    assert pending.kind == "public_fund_account"
    page.get_by_role(
        "button", name=one(r"swap the cards in the tray — \*\*([^*]+)\*\*", s4)
    ).click()
    expect(
        page.locator("[data-testid=ended-notice]:visible, [data-testid=ended-page]").first
    ).to_be_visible(timeout=30_000)
    page.wait_for_url(re.compile(r"/desk/ended/$"), timeout=20_000)
    expect(
        page.get_by_role("heading", name=one(r"the page turns to \*\*([^*]+)\*\*", s4))
    ).to_be_visible()
    expect(page.get_by_test_id("ended-discarded")).to_be_visible()
    demo_desk.shot("readme-incident-ended")
    card_b = one(r"insert `([\w-]+)` — and try to confirm", s4)
    page.get_by_test_id(f"tray-insert-{card_b}").click()
    expect(page.get_by_test_id(f"tray-insert-{card_b}")).to_contain_text("置かれています")
    # The tray shows each card's face: the insurance form asks the printed birth date and sex,
    # which a Japanese page gives in the era as the card prints it.
    birth_b = {r[0]: r[2] for r in demo.RESIDENTS}[card_b]
    era_b = format_era(date.fromisoformat(birth_b), weekday=False)
    expect(page.get_by_test_id(f"tray-printed-{card_b}")).to_contain_text(f"{era_b}生、男性")
    expect(page.get_by_test_id(f"tray-printed-{card_b}")).not_to_contain_text(birth_b)
    assert "/desk/visit/confirm/" in one(r"the confirmation page, (\S+)/?, says", s4)
    page.goto(demo_desk.url + "/desk/visit/confirm/")
    page.wait_for_url(re.compile(r"/desk/ended/$"))
    expect(page.get_by_test_id("messages")).to_contain_text("受付が開始されていません")
    pending.refresh_from_db()
    assert pending.status == ProcedureStatus.DISCARDED
    assert not PublicFundAccount.objects.exists()
    assert Completion.objects.count() == 1
    incident = Incident.objects.get(visit=visit_a, kind="visit_ended_with_pending")

    # 5. The official, with the code `madoguchi demo_totp` prints.
    official, password = re.findall(r"`([^`]+)`", s5)[:2]
    assert "madoguchi demo_totp" in s5
    out = io.StringIO()
    with redirect_stdout(out):
        call_command("demo_totp", stdout=out)
    code = one(r"\b(\d{6})\b", out.getvalue())
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    try:
        o = ctx.new_page()
        o.goto(demo_desk.url + "/accounts/sign-in/")
        o.fill("input[name=username]", official)
        o.fill("input[name=password]", password)
        o.fill("input[name=otp_token]", code)
        o.locator("main form button[type=submit]").click()
        o.wait_for_url(re.compile(r"/officials/$"))
        expect(o.get_by_test_id("visits")).to_contain_text(visit_a.reference)
        # The incident list asks why first: the reason and the button the README names.
        o.get_by_role("link", name=one(r"incident list \*\*([^*]+)\*\*", s5), exact=True).click()
        o.get_by_test_id("reason-form").get_by_label(one(r"choose \*\*([^*]+)\*\*", s5)).check()
        o.get_by_role("button", name=one(r"and press \*\*([^*]+)\*\*", s5)).click()
        expect(o.get_by_test_id("incidents")).to_contain_text(visit_a.reference)
        o.screenshot(path=str(ARTIFACTS / "readme-officials-incidents.png"))
        assert incident.pk
    finally:
        ctx.close()
    assert json.loads((demo_desk.data_dir / "demo" / "terminals.json").read_text()).keys() >= {
        terminal
    }
