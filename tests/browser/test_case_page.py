"""The case page in chromium, as a city official reads it: Japanese step titles, only the steps
allowed now, and none at all on a closed case."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from madoguchi.accounts.constants import Role
from madoguchi.cases import services
from tests import factories
from tests.cases.conftest import open_case

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def official_page(live_server, browser, settings):
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    official = factories.staff(Role.CITY_OFFICIAL)
    device = factories.totp_device(official)
    ctx = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    page.goto(live_server.url + "/accounts/sign-in/")
    page.fill("input[name=username]", official.username)
    page.fill("input[name=password]", factories.PASSWORD)
    page.fill("input[name=otp_token]", f"{totp(device.bin_key):06d}")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/officials/$"))
    try:
        yield page, official, live_server.url
    finally:
        ctx.close()


def test_closed_case_offers_no_step_forms(official_page):
    page, official, url = official_page
    case = services.case_open(
        actor=official,
        title="",
        resident_label="A氏",
        other_resident_label="B氏",
        reported_by="A氏",
        summary="マイナポイントの申込について心当たりがない。",
        event_date=date(2022, 8, 1),
        date_precision="month",
    )
    page.goto(f"{url}/cases/{case.pk}/")
    # Officials say why they open a resident's case before it shows.
    page.get_by_test_id("reason-form").get_by_label("ケースの対応").check()
    page.get_by_test_id("reason-submit").click()
    forms = page.locator("[data-testid=step-forms] form")
    expect(forms).to_have_count(3)
    expect(page.get_by_role("heading", name="調査を開始する")).to_be_visible()
    expect(page.get_by_role("heading", name="ケースを終了する")).to_be_visible()
    assert page.get_by_role("heading", name="investigate").count() == 0
    # Close it from the page, as an official does.
    close = page.locator("form[data-step=close]")
    close.get_by_label("日付の精度").select_option("unknown")
    close.get_by_label("確認の結果").select_option("no_error")
    close.locator("textarea").fill("誤った紐付けではなかったため終了。")
    close.get_by_role("button").click()
    expect(page.get_by_test_id("case-status")).to_have_text("完了")
    expect(page.locator("[data-testid=step-forms]")).to_have_count(0)
    expect(page.locator("main form[data-step]")).to_have_count(0)
    expect(page.get_by_test_id("no-steps")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "case-closed.png"), full_page=True)


def _fund_case(official):
    """A public-fund account case with the registered account (B's) on its legacy link."""
    from madoguchi.benefits import identifiers
    from madoguchi.cases.models import LegacyLink

    case = services.case_open(
        actor=official,
        title="",
        resident_label="A氏",
        reported_by="A氏",
        summary="公金受取口座に心当たりのない口座が登録されている。",
        event_date=date(2022, 9, 1),
        date_precision="month",
        programme="public_fund",
    )
    link = LegacyLink.objects.create(
        resident_label="A氏",
        provider_name="公金受取口座",
        account_hash=identifiers.identifier_hash(
            identifiers.bank_account_identifier("0001", "123", "ordinary", "7654321")
        ),
        account_last4="4321",
    )
    return services.case_attach_legacy_link(case, actor=official, legacy_link=link)


@pytest.mark.parametrize(
    ("locale", "reason", "compare", "correct", "status"),
    [
        (
            "ja-JP",
            "ケースの対応",
            "ご本人が持参された口座を照合する",
            "公金受取口座の訂正を記録する（誤った口座の登録を解除）",
            "誤った登録の訂正済み",
        ),
        (
            "en-US",
            "Working on a case",
            "Compare the bank account the resident presents",
            "Record the correction of the public-fund account (the wrong account's "
            "registration cancelled)",
            "Wrong registration corrected",
        ),
    ],
)
def test_a_public_fund_case_is_walked_without_a_points_step(
    official_page, locale, reason, compare, correct, status
):
    """The official compares the bank account and records the correction, never a points
    return or a payment card number, in either language."""
    page, official, url = official_page
    case = _fund_case(official)
    # The header's language switch (?lang=, kept in its cookie for the next pages).
    page.goto(f"{url}/cases/{case.pk}/?lang={locale.split('-')[0]}")
    page.get_by_test_id("reason-form").get_by_label(reason).check()
    page.get_by_test_id("reason-submit").click()
    expect(page.get_by_role("heading", name=compare)).to_be_visible()
    form = page.locator("form[data-step=compare]")
    expect(form.locator("input[name=compare-presented]")).to_have_count(0)
    form.locator("input[name=compare-bank_code]").fill("0001")
    form.locator("input[name=compare-branch_code]").fill("123")
    form.locator("input[name=compare-account_number]").fill("1234567")
    form.locator("select[name=compare-date_precision]").select_option("unknown")
    form.get_by_role("button").click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    main = page.locator("main").inner_text()
    assert "カード番号" not in main
    assert "マイナポイント" not in main  # the case's default title names the public-fund account
    assert "payment provider" not in main
    assert "ポイントの返還" not in main
    assert "point return" not in main
    services.case_suspend(case, actor=official, summary="利用停止", date_precision="unknown")
    services.case_contact(
        case,
        actor=official,
        party="call_centre",
        channel="phone",
        summary="相談",
        date_precision="unknown",
    )
    page.reload()
    expect(page.locator("form[data-step=return_points]")).to_have_count(0)
    expect(page.get_by_role("heading", name=correct)).to_be_visible()
    fix = page.locator("form[data-step=correct]")
    fix.locator("select").first.select_option("unknown")
    fix.locator("textarea").fill("誤って登録された口座の登録を解除しました。")
    fix.get_by_role("button").click()
    expect(page.get_by_test_id("case-status")).to_have_text(status)
    expect(page.locator("form[data-step=reenable]")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / f"case-public-fund-{locale}.png"), full_page=True)


def test_on_a_phone_the_old_terminals_session_times_stay_whole(official_page):
    """At 390 px the case page's table of the old terminal's session records gave its last
    column (the resident, 職員X) the 14rem a sentence keeps and broke each time a few characters
    a line (令和4 / 年8月 / 10日…): the time and the resident stay on one line."""
    from madoguchi.cases.models import LegacyLink

    from .test_narrow_window import LINES

    page, official, url = official_page
    page.set_viewport_size({"width": 390, "height": 844})
    case = _fund_case(official)
    LegacyLink.objects.filter(pk=case.legacy_link_id).update(
        session_log=[
            {"at": "2022-08-10T10:02", "event": "login", "resident": "職員X"},
            {"at": "2022-08-10T10:05", "event": "card_read", "resident": "A氏"},
        ]
    )
    for lang in ("ja", "en"):
        page.goto(f"{url}/cases/{case.pk}/?reason=case_work&lang={lang}")
        rows = page.locator("[data-testid=session-log] tr:has(td)")
        assert rows.count() == 2
        for i in range(2):
            time = rows.nth(i).locator("td").first
            assert time.evaluate(LINES) == 1, (lang, time.inner_text())


def test_a_case_opened_from_the_list_is_not_asked_its_reason_again(official_page):
    """The official says why they open the case list (case work) and chooses a case: its page
    asked the same question again before it showed. The list's link carries the reason given."""
    page, official, url = official_page
    case = open_case(official)
    page.goto(f"{url}/cases/")
    page.get_by_test_id("reason-form").get_by_label("ケースの対応").check()
    page.get_by_test_id("reason-submit").click()
    page.get_by_role("link", name=case.reference).click()
    expect(page.get_by_test_id("case-status")).to_be_visible()
    expect(page.get_by_test_id("reason-form")).to_have_count(0)
    assert "reason=case_work" in page.url
