"""Public-fund account and health-insurance use registration, and the grants they bring."""

import re

import pytest

from madoguchi.benefits.constants import GrantStatus
from madoguchi.benefits.models import Grant, HealthInsuranceRegistration, PublicFundAccount
from madoguchi.desk.models import Procedure
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import apply_fields, commit, drain, prepare, refused, start_visit

pytestmark = pytest.mark.usefixtures("providers", "systems")


def public_fund(number="1234567", kana="ヤマダ タロウ", **extra):
    return {
        "bank_code": "0990",
        "branch_code": "001",
        "account_type": "ordinary",
        "account_number": number,
        "resident_kana": kana,
        "resident_kana_confirmed": True,
        **extra,
    }


HI = {
    "insurer_number": "06139992",
    "insured_symbol": "SYM-7731",
    "insured_number": "88120045",
    "branch": "01",
    # Card C's holder (山田 太郎, 1990-01-15, male), as the insurer has them.
    "resident_birth_date": "1990-01-15",
    "resident_sex": "1",
    "resident_kana": "ヤマダ タロウ",
    "resident_kana_confirmed": True,
}


def test_public_fund_registration_end_to_end(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    completion = commit(desk, c)
    row = PublicFundAccount.objects.get()
    assert row.holder == visit.holder
    assert row.account_last4 == "4567"
    assert row.bank_name
    assert row.name_outcome == "match"
    signed = bytes(completion.transaction_bytes).decode()
    assert "1234567" not in signed
    assert row.account_hash in signed


def test_a_japan_post_bank_account_is_registered_from_its_passbook(trusted, desk):
    """ゆうちょ銀行's passbook gives 記号 10230 and 番号 87654321, not the branch (028) and
    account number (8765432) a transfer uses: the desk took neither (3 and 7 digits at most)."""
    c = trusted.card("C")
    start_visit(desk, c)
    fields = public_fund(bank_code="9900", branch_code="10230", account_number="87654321")
    p = prepare(desk, kind="public_fund_account", **fields)
    assert p.fields["branch_code"] == "028"
    assert p.fields["account_last4"] == "5432"
    completion = commit(desk, c)
    row = PublicFundAccount.objects.get()
    assert (row.bank_code, row.branch_code, row.account_last4) == ("9900", "028", "5432")
    assert row.name_outcome == "match"
    # The receipt reads as the signed lines do: the passbook's 記号 and the 番号's last 4
    # beside the transfer's last 4 (it showed ＊＊＊＊5432 alone, which the passbook does not).
    from madoguchi.benefits import receipts

    for language, said in (
        ("ja", "（通帳の記号 10230・番号 ＊＊＊＊4321）"),
        ("en", "(passbook 記号 10230, 番号 ＊＊＊＊4321)"),
    ):
        page = re.sub(r"<[^>]+>", "", receipts.receipt_html(completion, language))
        assert said in page


def test_a_japan_post_bank_account_reads_on_the_signed_lines_as_its_passbook_does(trusted, desk):
    """The lines the resident signs showed the account a transfer uses, ＊＊＊＊5432, beside a
    passbook that reads 記号 10230 番号 87654321: a last 4 the resident could not find on it.
    They show the passbook's 記号 and the 番号's last 4 beside it; an account typed with its
    branch and number, ゆうちょ銀行's too, reads as before."""
    import json

    from madoguchi.desk.services import build_transaction

    c = trusted.card("C")
    visit = start_visit(desk, c)
    fields = public_fund(bank_code="9900", branch_code="10230", account_number="87654321")
    prepare(desk, kind="public_fund_account", **fields)
    visit.refresh_from_db()
    account = next(line for line in build_transaction(visit)["display"] if line.startswith("口座"))
    assert account.endswith("普通 ＊＊＊＊5432（通帳の記号 10230・番号 ＊＊＊＊4321）"), account
    completion = commit(desk, c)
    signed = json.loads(bytes(completion.transaction_bytes))
    assert signed["procedures"][0]["passbook_symbol"] == "10230"
    assert signed["procedures"][0]["passbook_last4"] == "4321"
    assert "87654321" not in bytes(completion.transaction_bytes).decode()
    from madoguchi.benefits.procedures.public_fund import _passbook

    # Typed with its branch and transfer number, or another bank's: nothing of a passbook.
    assert _passbook({"branch_code": "028", "account_number": "8765432"}, "9900") == {}
    assert _passbook({"branch_code": "10230", "account_number": "87654321"}, "0990") == {}


def test_a_japan_post_bank_number_that_cannot_be_one_is_refused_saying_why(trusted, desk):
    start_visit(desk, trusted.card("C"))
    fields = public_fund(bank_code="9900", branch_code="10230", account_number="87654320")
    exc = refused("invalid_request", prepare, desk, kind="public_fund_account", **fields)
    assert "末尾が1の数字8桁以内" in exc.message_ja
    # A slip of the keys, beside the 記号's field: not an outside system's failure.
    assert exc.field == "branch_code"
    assert not Incident.objects.exists()
    assert not PublicFundAccount.objects.exists()


def test_a_mistyped_insurer_number_is_refused_beside_its_own_field(trusted, desk):
    """The check digit's refusal was shown beside the insured person's number."""
    start_visit(desk, trusted.card("C"))
    exc = refused("invalid_request", prepare, desk, kind="health_insurance_use",
                  **{**HI, "insurer_number": "06139993"})  # fmt: skip
    assert "検証番号" in exc.message_ja
    assert exc.field == "insurer_number"


def test_public_fund_no_match_is_blocked(trusted, desk):
    start_visit(desk, trusted.card("B"))
    refused(
        "name_no_match",
        prepare,
        desk,
        kind="public_fund_account",
        **public_fund(kana="スズキ イチロウ"),
    )
    assert Incident.objects.filter(kind="name_check").exists()
    assert not PublicFundAccount.objects.exists()


def test_health_insurance_registration_end_to_end(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    p = prepare(desk, kind="health_insurance_use", **HI)
    completion = commit(desk, c)
    row = HealthInsuranceRegistration.objects.get()
    assert row.state == "registering"  # committed with its outbox call; the insurer not called
    assert not row.registration_ref
    assert drain().count("registered") == 1
    row.refresh_from_db()
    assert row.state == "registered"
    assert row.registration_ref
    assert row.insurer_status == "registered"
    assert row.insured_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    signed = bytes(completion.transaction_bytes).decode()
    assert "_insured" not in signed
    # The insured numbers were kept only until the commit.
    assert "_insured" not in Procedure.objects.get(pk=p.pk).fields


def test_health_insurance_no_longer_valid_is_refused_at_prepare(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refused(
        "insurance_not_eligible",
        prepare,
        desk,
        kind="health_insurance_use",
        **{**HI, "insured_symbol": "9999", "insured_number": "1", "branch": "00"},
    )
    assert not HealthInsuranceRegistration.objects.exists()


@pytest.mark.parametrize(
    ("kind", "fields", "code", "ja", "en"),
    [
        (
            "public_fund_account",
            public_fund(),
            "public_fund_exists",
            "公金受取口座はすでに登録されています。ここで重ねて登録・変更することはできません"
            "（誤りがある場合は是正の手続きで対応します）",
            "cannot be registered again or changed here (a mistake is put right through a "
            "remediation case)",
        ),
        (
            "health_insurance_use",
            HI,
            "health_insurance_exists",
            "健康保険証としての利用登録はすでにあります。ここで重ねて登録する必要はありません"
            "（誤りがある場合は是正の手続きで対応します）",
            "nothing more to register here (a mistake is put right through a remediation case)",
        ),
    ],
)
def test_a_second_registration_is_refused_saying_what_to_do(
    trusted, desk, kind, fields, code, ja, en
):
    """A resident registered already was refused with 「この方の利用登録はすでにあります。」
    only: the desk was not told whether to change it, try again or do something else."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind=kind, **fields)
    commit(desk, c)
    start_visit(desk, c)
    exc = refused(code, prepare, desk, kind=kind, **fields)
    assert ja in exc.message_ja
    assert en in exc.message_en


def _categories(holder):
    return sorted(
        g.category for g in Grant.objects.filter(holder=holder, status=GrantStatus.EFFECTIVE)
    )


def test_registration_points_need_an_application_registration_first(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()
    assert _categories(visit.holder) == []  # no application yet
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    completion = commit(desk, c)
    assert _categories(visit.holder) == ["health_insurance", "public_fund"]
    assert all(g.points == 7500 for g in Grant.objects.all())
    assert {g.completion_id for g in Grant.objects.all()} == {completion.pk}


def test_registration_points_application_first(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    assert _categories(visit.holder) == []
    start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    assert _categories(visit.holder) == ["public_fund"]
    # Granted once: another evaluation grants nothing more.
    from madoguchi.benefits.services import grants_evaluate

    assert grants_evaluate(visit.holder) == []


@pytest.mark.parametrize(
    ("kind", "first", "second"),
    [
        ("health_insurance_use", HI, HI),
        # The same account typed again, another way (the desk's second try at it).
        ("public_fund_account", public_fund(), public_fund("123-4567")),
        ("point_application", apply_fields(), apply_fields(kana="やまだ たろう")),
    ],
)
def test_a_second_registration_of_one_kind_in_a_visit_is_refused_at_prepare(
    trusted, desk, kind, first, second
):
    """Two health-insurance registrations in one visit were both taken, and the completion
    failed after the resident's PIN with a server error; two public-fund accounts (or two
    applications to one programme) with "registered at another desk first", the visit ended,
    a high-severity incident recorded. The second is refused at prepare, saying why; the
    first stays and commits."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind=kind, **first)
    refusal = refused("already_pending", prepare, desk, kind=kind, **second)
    assert "お一人につき一つ" in refusal.message_ja
    assert "Nothing was stored" in refusal.message_en
    assert Procedure.objects.filter(visit=visit).count() == 1
    commit(desk, c)
    assert not Incident.objects.filter(kind="completion_refused").exists()
