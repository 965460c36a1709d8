"""The benefits procedures' happy path at the desk: point application, public-fund account and
health-insurance use in one visit, committed by one signature of the resident's card."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from madoguchi.desk import procedures as registry
from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Completion

from .test_desk import BEFORE, start_visit, tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KINDS = ("point_application", "public_fund_account", "health_insurance_use")


@pytest.fixture
def outside_systems(db):
    # The benefits app is installed: a procedure missing from the registry is a failure.
    assert all(registry.get(k) for k in KINDS), "the benefits procedures are not registered"
    from madoguchi.benefits import outside
    from madoguchi.benefits.models import Provider
    from madoguchi.outside.sim import running_all

    Provider.objects.get_or_create(
        code="sim-pay", defaults={"display_name_ja": "シミュレーションペイ"}
    )
    with running_all() as sims:
        systems = sims.outside()
        with outside.use(systems):
            yield systems
        systems.close()


def fill(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        elif field.get_attribute("type") == "checkbox":
            field.check()
        else:
            field.fill(value)


def add(desk, kind, values):
    page = desk.page
    page.get_by_test_id(f"add-{kind}").click()
    fill(page, values)
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))


def test_benefits_procedures_happy_path(desk, outside_systems):
    page = desk.page
    visit = start_visit(desk, "C")  # 山田　太郎
    # The name from the card (input-support PIN) feeds the name check.
    page.get_by_role("button", name="カードから氏名を読み取る").click()
    desk.test_pin()
    expect(page.get_by_test_id("resident-name")).to_have_text("山田　太郎")
    kana = {"resident_kana": "ヤマダ タロウ", "resident_kana_confirmed": "on"}
    add(
        desk,
        "point_application",
        {
            "provider": "sim-pay",
            "payment_service_id": "7010000000000001",
            "security_code": "123",
            **kana,
        },
    )
    add(
        desk,
        "public_fund_account",
        {
            "bank_code": "0990",
            "branch_code": "001",
            "account_type": "ordinary",
            "account_number": "1234567",
            **kana,
        },
    )
    add(
        desk,
        "health_insurance_use",
        {
            "insurer_number": "06139992",
            "insured_symbol": "SYM-7731",
            "insured_number": "88120045",
            "branch": "01",
            # The insured person must be the card holder: 山田 太郎, 1990-01-15, male.
            "resident_birth_date": "1990-01-15",
            "resident_sex": "1",
            **kana,
        },
    )
    desk.shot("11-benefits-visit")
    page.get_by_test_id("to-confirm").click()
    lines = page.get_by_test_id("commit-lines").inner_text()
    assert "1234567" not in lines  # masked account numbers only
    assert "7010000000000001" not in lines
    tick(desk, BEFORE)
    desk.shot("12-benefits-confirm")
    page.get_by_test_id("sign-completion").click()
    desk.test_pin()
    desk.wait_for_receipt()
    completion = Completion.objects.get(visit=visit)
    pdf = page.get_by_test_id("receipt-pdf")
    expect(pdf).to_be_visible()
    # The PDF is rendered in the live server's thread, beside Playwright and the agent in this
    # process: on a loaded machine it took longer than the context's 10 s default (load 20-38
    # on 2 cores), so the request waits for its answer up to a minute, as the README's does.
    response = page.request.get(desk.url + pdf.get_attribute("href"), timeout=60_000)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    kinds = {p.kind: p.status for p in completion.procedures.all()}
    assert kinds == dict.fromkeys(KINDS, ProcedureStatus.COMMITTED)
    from madoguchi.benefits.models import (
        HealthInsuranceRegistration,
        PaymentLink,
        PublicFundAccount,
    )

    assert PaymentLink.objects.get().completion == completion
    assert PublicFundAccount.objects.get().holder == visit.holder
    assert HealthInsuranceRegistration.objects.get().holder == visit.holder


def test_a_family_members_account_is_refused_saying_what_to_ask_next(desk, outside_systems):
    """A resident brings the bank book of a family member's account (山田 花子's for 山田 太郎):
    the refusal said the names differ and nothing was linked, and stopped there; it now says
    only an account in the resident's own name can be linked and what to ask. What was typed
    stays in the form for the next try."""
    page = desk.page
    start_visit(desk, "C")  # 山田　太郎
    page.get_by_test_id("add-public_fund_account").click()
    fill(
        page,
        {
            "bank_code": "0990",
            "branch_code": "002",
            "account_type": "ordinary",
            "account_number": "4567890",  # ﾔﾏﾀﾞ ﾊﾅｺ
            "resident_kana": "ヤマダ タロウ",
            "resident_kana_confirmed": "on",
        },
    )
    page.get_by_test_id("procedure-submit").click()
    main = page.locator("main")
    expect(main).to_contain_text("ご家族名義の口座の可能性があります）。")
    expect(main).to_contain_text(
        "紐付けできるのはご本人名義の口座だけです。ご本人名義の口座をお持ちか、お尋ねください"
    )
    expect(page.locator("[name=account_number]")).to_have_value("4567890")
    desk.shot("benefits-family-account-refused")


def test_a_japan_post_bank_account_is_typed_as_its_passbook_reads(desk, outside_systems):
    """ゆうちょ銀行's passbook gives 記号 and 番号, not a branch and an account number: the form
    says they may be typed as they read, and the account is added as the transfer's number
    (8765432, shown ＊＊＊＊5432; the fields took 3 and 7 digits at most before)."""
    page = desk.page
    start_visit(desk, "C")  # 山田　太郎
    page.get_by_test_id("add-public_fund_account").click()
    expect(page.locator("main")).to_contain_text("通帳の記号（5桁）をそのまま入力できます。")
    fill(
        page,
        {
            "bank_code": "9900",
            "branch_code": "10230",
            "account_type": "ordinary",
            "account_number": "87654321",
            "resident_kana": "ヤマダ タロウ",
            "resident_kana_confirmed": "on",
        },
    )
    page.get_by_test_id("procedure-submit").click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    expect(page.locator("main")).to_contain_text("公金受取口座の登録 ＊＊＊＊5432")


def test_each_pending_procedure_shows_its_masked_account(desk, outside_systems):
    """Two procedures pending, a point application and a public-fund account: their rows
    read alike (two point applications once could, before a second application to one
    programme was refused at prepare), so staff could not tell which one to remove. Each row
    shows its masked account, and removing the first leaves the second."""
    page = desk.page
    start_visit(desk, "C")  # 山田　太郎
    point = {
        "provider": "sim-pay",
        "resident_kana": "ヤマダ タロウ",
        "resident_kana_confirmed": "on",
    }
    add(
        desk,
        "point_application",
        {**point, "payment_service_id": "7010000000000001", "security_code": "123"},
    )
    add(
        desk,
        "public_fund_account",
        {"bank_code": "0990", "branch_code": "001", "account_type": "ordinary",
         "account_number": "1234567", "resident_kana": "ヤマダ タロウ",
         "resident_kana_confirmed": "on"},
    )  # fmt: skip
    accounts = page.get_by_test_id("procedure-account")
    expect(accounts).to_have_text(["＊＊＊＊0001", "＊＊＊＊4567"])
    # On a phone each row is a block: the name and account on a line, the status and the
    # remove button under it, all within the card (the three columns ran 34 px past it in
    # English: "Point application (payment service link) ＊＊＊＊0001", Pending, Remove).
    from .test_narrow_window import LINES, overflow

    page.set_viewport_size({"width": 390, "height": 844})
    for lang in ("en", "ja"):
        page.goto(desk.url + f"/desk/visit/?lang={lang}")
        card = page.locator("section[data-page=visit]")
        assert card.evaluate("e => e.scrollWidth - e.clientWidth") <= 0, lang
        assert overflow(page) <= 0, lang
        row = page.get_by_test_id("procedures").locator("tbody tr").first
        for cell in (row.locator("td").nth(1), row.locator("td button")):
            assert cell.evaluate(LINES) == 1, (lang, cell.inner_text())
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(desk.url + "/desk/visit/?lang=ja")
    page.get_by_test_id("procedures").get_by_role("button", name="取り消す").first.click()
    page.wait_for_url(re.compile(r"/desk/visit/$"))
    pending = page.get_by_test_id("procedures").locator("tr", has_text="確定待ち")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("＊＊＊＊4567")
    assert "7010000000000001" not in page.content()
