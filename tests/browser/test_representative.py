"""The legal-representative exception at the desk, in chromium, with the demo's `minor` (佐藤
翔太, born 2014) and `parent` (佐藤 花子) cards: the minor's card starts the visit and is read
(the server verifies the birth date), staff start the card handover, the parent's own card
authenticates, the point application links the parent's account, and both cards sign."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from madoguchi.benefits.models import PaymentLink
from madoguchi.desk.models import Completion

from .demo_kit import DemoDesk, demo_cards, demo_desk, demo_outside  # noqa: F401  (fixtures)
from .test_readme import tick_all

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(demo_desk: DemoDesk) -> None:  # noqa: F811
    page = demo_desk.page
    # The live server's first answer can take seconds on a loaded machine (cold imports).
    page.goto(demo_desk.url + "/terminal/enrol/", timeout=60_000)
    page.get_by_role("button", name="desk-01", exact=True).click()
    page.goto(demo_desk.url + "/accounts/sign-in/")
    page.fill("input[name=username]", "desk1")
    page.fill("input[name=password]", "madoguchi-demo")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/desk/$"))


def _swap_to(page, card: str) -> None:
    """In the tray: take the card out, put `card` in (a reader holds one card)."""
    page.get_by_test_id("tray-remove").click()
    # The reader is empty once no card shows as in it (the card's own button, not `card`'s,
    # which was never pressed).
    expect(page.locator("[data-testid=tray] button[aria-pressed=true]")).to_have_count(0)
    page.get_by_test_id(f"tray-insert-{card}").click()
    expect(page.get_by_test_id(f"tray-insert-{card}")).to_contain_text("置かれています")


def test_minor_with_parent_two_cards(demo_desk: DemoDesk):  # noqa: F811
    page = demo_desk.page
    _sign_in(demo_desk)
    page.get_by_test_id("tray-insert-minor").click()
    expect(page.get_by_test_id("presence")).to_contain_text("カード")
    page.get_by_role("button", name="カードで受付を開始").click()
    demo_desk.type_pin()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    panel = page.get_by_test_id("representative-panel")
    expect(panel.get_by_test_id("start-handover")).to_be_disabled()
    # The birth date comes from the card: read it (input-support PIN); the server verifies it.
    page.get_by_role("button", name="カードから氏名を読み取る").click()
    demo_desk.type_pin()
    expect(panel.get_by_test_id("start-handover")).to_be_enabled()
    expect(page.get_by_test_id("resident-name")).to_have_text("佐藤　翔太")
    panel.get_by_test_id("start-handover").click()
    expect(panel.get_by_test_id("handover-started")).to_be_visible()
    # The handover: the minor's card leaves the reader, the parent's comes; the visit stays.
    _swap_to(page, "parent")
    panel.get_by_test_id("rep-relationship").select_option("parent")
    panel.get_by_test_id("rep-kana").fill("サトウ ハナコ")
    panel.get_by_test_id("rep-kana-confirmed").check()
    panel.get_by_test_id("authenticate-representative").click()
    demo_desk.type_pin()
    expect(panel.get_by_test_id("representative-done")).to_contain_text("法定代理人（親権者）")
    # The point application with the parent's account, under the exception.
    page.get_by_test_id("add-point_application").click()
    page.get_by_label("決済サービスID").fill("7010000000000002")
    page.get_by_label("セキュリティコード").fill("4567")
    page.get_by_label("ご本人のお名前（フリガナ）").fill("サトウ ショウタ")
    page.get_by_label("ご本人がフリガナを確認しました").check()
    page.get_by_label("未成年者が法定代理人の口座を使う（例外）").check()
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    page.get_by_test_id("to-confirm").click()
    lines = page.get_by_test_id("commit-lines")
    expect(lines).to_contain_text("法定代理人による申請: 親権者の口座を使用します")
    expect(page.get_by_test_id("two-cards")).to_be_visible()
    tick_all(page)
    demo_desk.shot("21-representative-confirm")
    page.get_by_test_id("sign-completion").click()
    # The parent's card is on the reader: the page asks for the resident's first.
    expect(page.locator("[data-role=flow-status]")).to_contain_text("ご本人のカード")
    _swap_to(page, "minor")
    demo_desk.type_pin()
    expect(page.locator("[data-role=flow-status]")).to_contain_text("法定代理人のカード")
    _swap_to(page, "parent")
    demo_desk.type_pin()
    page.wait_for_url(re.compile(r"/desk/visit/receipt/$"))
    expect(page.locator("main")).to_contain_text("法定代理人による申請: 親権者の口座を使用します")
    demo_desk.shot("22-representative-receipt")
    completion = Completion.objects.get()
    link = PaymentLink.objects.get()
    assert link.representative.relationship == "parent"
    assert link.name_exception == "minor_representative"
    assert completion.second_certificate_id == link.representative.certificate_id


def test_the_tray_says_why_it_does_not_take_a_second_card(demo_desk: DemoDesk):  # noqa: F811
    """A reader holds one card: inserting another while one is in was refused by the agent
    (409) and the tray did nothing at all, on the desk and on the resident's kiosk."""
    page = demo_desk.page
    _sign_in(demo_desk)
    page.get_by_test_id("tray-insert-resident-a").click()
    expect(page.get_by_test_id("tray-insert-resident-a")).to_contain_text("置かれています")
    page.get_by_test_id("tray-insert-resident-b").click()
    error = page.get_by_test_id("tray").locator("[data-role=tray-error]")
    expect(error).to_have_text(
        "カード resident-a が置かれています。読み取り機に置けるカードは 1 枚です。"
        "先に「カードを取り外す」を押してください。"
    )
    expect(page.get_by_test_id("tray-insert-resident-a")).to_contain_text("置かれています")
    _swap_to(page, "resident-b")
    expect(error).to_be_hidden()


def test_a_card_inserted_right_after_a_removal_goes_in(demo_desk: DemoDesk):  # noqa: F811
    """ "Remove" and then at once another card's "insert" were sent together: when the removal
    was slow to reach the agent, the insert got there first and was refused as a second card
    (a loaded machine did it). The tray sends a press once the one before is done. The removal
    is held here for 2 s, as the load held it."""
    page = demo_desk.page
    _sign_in(demo_desk)
    page.get_by_test_id("tray-insert-resident-a").click()
    expect(page.get_by_test_id("tray-insert-resident-a")).to_contain_text("置かれています")

    def slow(route):
        time.sleep(2)  # the insert, not held, would reach the agent meanwhile
        route.continue_()

    page.route("**/tray/remove", slow)
    # Both presses in one go, as fast hands or a slow machine make them.
    page.evaluate(
        """() => {
            document.querySelector("[data-testid=tray-remove]").click();
            document.querySelector("[data-testid=tray-insert-resident-b]").click();
        }"""
    )
    expect(page.get_by_test_id("tray-insert-resident-b")).to_contain_text("置かれています")
    expect(page.get_by_test_id("tray-insert-resident-a")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_test_id("tray").locator("[data-role=tray-error]")).to_be_hidden()


def test_tray_buttons_survive_a_refresh(demo_desk: DemoDesk):  # noqa: F811
    """Each card event and each press refreshes the tray. It rebuilt every button, so a refresh
    landing between a press's mouse-down and mouse-up swapped the button under the pointer and
    the press was lost (CI's two-card walk once waited 30 s for a parent card that never went
    in). The buttons now stay the same elements; only what they say changes."""
    page = demo_desk.page
    _sign_in(demo_desk)
    button = page.get_by_test_id("tray-insert-resident-a")
    expect(button).to_have_attribute("aria-pressed", "false")
    button.evaluate("b => { b.dataset.marked = 'yes'; }")
    button.click()
    expect(button).to_contain_text("置かれています")
    page.get_by_test_id("tray-remove").click()
    expect(button).to_have_attribute("aria-pressed", "false")
    # The same element after two presses and their card events, not a new one.
    expect(page.locator("[data-testid=tray-insert-resident-a][data-marked=yes]")).to_have_count(1)
