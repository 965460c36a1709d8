"""Provider faults and refusals over real HTTP: staff get a Japanese message, nothing is
linked, an incident records it: OUTSIDE_REFUSED where the system answered no (a wrong security
code, a closed account), OUTSIDE_FAILURE where it could not be reached or did not answer."""

import pytest

from madoguchi.benefits.models import PaymentLink, PublicFundAccount
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit

pytestmark = pytest.mark.usefixtures("providers")


def _assert_failure(code, kind="outside_failure"):
    incident = Incident.objects.get()
    assert (incident.kind, incident.reason_code) == (kind, code)
    assert not PaymentLink.objects.exists()


@pytest.mark.parametrize(
    ("psid", "sec", "code", "text"),
    [
        ("7010000000000001", "999", "security_code_wrong", "セキュリティコードが一致しません"),
        ("7010000000000007", "1357", "account_suspended", "利用停止中"),
        ("7010000000000008", "975", "account_closed", "解約済み"),
        ("7019999999999999", "123", "account_not_found", "見つかりません"),
    ],
)
def test_provider_refusals(trusted, desk, systems, psid, sec, code, text):
    start_visit(desk, trusted.card("C"))
    err = refused(code, prepare, desk, **apply_fields(psid=psid, code=sec))
    assert text in err.message_ja
    assert "何も登録していません" in err.message_ja
    # The provider worked and said no: its refusal, not its failure.
    _assert_failure(code, kind="outside_refused")


def test_provider_5xx_after_retries(trusted, desk, systems, sims):
    start_visit(desk, trusted.card("C"))
    sims.provider.control.set(fail_next=5)
    err = refused("outside_unavailable", prepare, desk, **apply_fields())
    assert "接続できませんでした" in err.message_ja
    _assert_failure("outside_unavailable")


def test_provider_timeout(trusted, desk, systems, sims):
    start_visit(desk, trusted.card("C"))
    sims.provider.control.set(hang_next=5, hang_ms=1500)
    err = refused("outside_timeout", prepare, desk, **apply_fields())
    assert "時間内に応答がありませんでした" in err.message_ja
    _assert_failure("outside_timeout")


def test_a_retry_after_one_5xx_succeeds(trusted, desk, systems, sims):
    start_visit(desk, trusted.card("C"))
    sims.provider.control.set(fail_next=1)
    p = prepare(desk, **apply_fields())
    assert p.fields["name_outcome"] == "match"
    assert not Incident.objects.filter(kind="outside_failure").exists()


def test_bank_unreachable(trusted, desk, systems, sims):
    start_visit(desk, trusted.card("C"))
    sims.bank.control.set(fail_next=5)
    refused(
        "outside_unavailable",
        prepare,
        desk,
        kind="public_fund_account",
        bank_code="0990",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        resident_kana="ヤマダ タロウ",
        resident_kana_confirmed=True,
    )
    assert not PublicFundAccount.objects.exists()
    assert Incident.objects.filter(
        kind="outside_failure", reason_code="outside_unavailable"
    ).exists()


PUBLIC_FUND = {
    "kind": "public_fund_account",
    "bank_code": "0990",
    "branch_code": "001",
    "account_type": "ordinary",
    "account_number": "1234567",
    "resident_kana": "ヤマダ タロウ",
    "resident_kana_confirmed": True,
}


@pytest.mark.parametrize("typed", ["123456789012", "0990" + "9" * 5000])
def test_a_bank_code_that_is_not_one_is_not_kept_in_an_incident(trusted, desk, systems, typed):
    """Side doors round 8: a refused public-fund look-up's incident named the bank code as the
    desk typed it, whatever it was (twelve digits, as an individual number would be, or 5,000
    characters), and the officials' pages and the daily report show incidents. A bank code
    that is none is now refused before the bank is asked, with no incident at all; an incident
    keeps a bank code only when it is one (4 digits)."""
    start_visit(desk, trusted.card("C"))
    err = refused("invalid_request", prepare, desk, **{**PUBLIC_FUND, "bank_code": typed})
    assert err.field == "bank_code"
    assert not Incident.objects.exists()
    # A bank code of the right shape is still named (an unknown bank, refused by the bank).
    sims_bank = "0991"
    refused("account_not_found", prepare, desk, **{**PUBLIC_FUND, "bank_code": sims_bank})
    named = Incident.objects.get(kind="outside_refused", reason_code="account_not_found")
    assert named.detail["bank"] == sims_bank
    assert not PublicFundAccount.objects.exists()


@pytest.mark.parametrize(
    ("field", "typed", "text"),
    [
        ("bank_code", "099", "金融機関コードは数字4桁です"),
        ("branch_code", "0011", "支店コードは数字3桁です"),
        ("account_number", "12345678", "口座番号は数字7桁以内です"),
        ("account_type", "fixed", "預金種目は普通・当座・貯蓄のいずれかです"),
    ],
)
def test_a_bank_account_that_cannot_be_one_is_refused_beside_its_field(
    trusted, desk, systems, field, typed, text
):
    """A 4-digit branch code typed at the desk was refused by the bank client's own check, an
    OUTSIDE_FAILURE incident in the city's report for a slip of the keys, shown beside the
    account number whichever field it was."""
    start_visit(desk, trusted.card("C"))
    err = refused("invalid_request", prepare, desk, **{**PUBLIC_FUND, field: typed})
    assert text in err.message_ja
    assert err.field == field
    assert not Incident.objects.exists()
    assert not PublicFundAccount.objects.exists()


@pytest.mark.parametrize(
    ("field", "typed", "text"),
    [
        ("payment_service_id", "70100", "決済サービスIDは英数字8〜32文字です"),
        ("security_code", "12", "セキュリティコードは数字3〜4桁です"),
    ],
)
def test_a_payment_service_id_or_code_that_cannot_be_one_is_refused_beside_its_field(
    trusted, desk, systems, field, typed, text
):
    start_visit(desk, trusted.card("C"))
    fields = apply_fields()
    err = refused("invalid_request", prepare, desk, **{**fields, field: typed})
    assert text in err.message_ja
    assert err.field == field
    assert not Incident.objects.exists()
    assert not PaymentLink.objects.exists()


def test_an_account_the_bank_does_not_hold_is_still_the_banks_refusal(trusted, desk, systems):
    """A well-formed account the bank does not know is the bank's answer: an incident."""
    start_visit(desk, trusted.card("C"))
    refused("account_not_found", prepare, desk, **{**PUBLIC_FUND, "account_number": "7654321"})
    assert Incident.objects.filter(kind="outside_refused", reason_code="account_not_found").exists()


def test_the_officials_read_a_refusal_apart_from_an_outage(trusted, desk, systems, sims, client):
    """A day's incidents name a wrong security code 「外部システムでの不受理」 and an unreachable
    provider 「外部システムの障害」: both were 「外部システムの障害」, so a day of residents' typos
    read as a day of outages, and the daily report counted them as one kind."""
    from django.utils import timezone

    from madoguchi.accounts.constants import Role
    from madoguchi.reports.services import build_daily
    from tests import factories

    visit = start_visit(desk, trusted.card("C"))
    refused("security_code_wrong", prepare, desk, **apply_fields(code="999"))
    sims.provider.control.set(fail_next=5)
    refused("outside_unavailable", prepare, desk, **apply_fields())
    content = build_daily(visit.terminal, timezone.localdate())
    assert content["counts"]["incidents"] == {"outside_refused": 1, "outside_failure": 1}
    # Among the day's refusals by reason (as a name check's no match is), not the outage.
    assert content["counts"]["refusals"] == {"outside_refused:security_code_wrong": 1}
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    page = client.get(f"/officials/visits/{visit.public_id}/?reason=incident")
    html = page.content.decode()
    assert html.count("外部システムでの不受理") == 1, html
    assert html.count("外部システムの障害") == 1, html
    client.force_login(factories.staff(Role.SUPERVISOR))
    day = timezone.localdate().isoformat()
    report = client.get(f"/reports/{visit.terminal_id}/{day}/").content.decode()
    assert "外部システムでの不受理：セキュリティコードが一致しません" in report, report
    assert "security_code_wrong" not in report
