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
    close.locator("textarea").fill("誤った紐付けではなかったため終了。")
    close.get_by_role("button").click()
    expect(page.get_by_test_id("case-status")).to_have_text("完了")
    expect(page.locator("[data-testid=step-forms]")).to_have_count(0)
    expect(page.locator("main form[data-step]")).to_have_count(0)
    expect(page.get_by_test_id("no-steps")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "case-closed.png"), full_page=True)
