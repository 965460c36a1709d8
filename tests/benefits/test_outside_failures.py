"""Provider faults over real HTTP: staff get a Japanese message, nothing is linked, an
OUTSIDE_FAILURE incident records it."""

import pytest

from madoguchi.benefits.models import PaymentLink, PublicFundAccount
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit

pytestmark = pytest.mark.usefixtures("providers")


def _assert_failure(code):
    incident = Incident.objects.get(kind="outside_failure")
    assert incident.reason_code == code
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
    _assert_failure(code)


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


@pytest.mark.parametrize("typed", ["123456789012", "0990" + "9" * 5000])
def test_a_bank_code_that_is_not_one_is_not_kept_in_the_incident(trusted, desk, systems, typed):
    """Side doors round 8: a refused public-fund look-up's incident named the bank code as the
    desk typed it, whatever it was (twelve digits, as an individual number would be, or 5,000
    characters), and the officials' pages and the daily report show incidents. The incident
    keeps a bank code only when it is one (4 digits)."""
    start_visit(desk, trusted.card("C"))
    fields = {
        "kind": "public_fund_account",
        "branch_code": "001",
        "account_type": "ordinary",
        "account_number": "1234567",
        "resident_kana": "ヤマダ タロウ",
        "resident_kana_confirmed": True,
    }
    refused("invalid_request", prepare, desk, bank_code=typed, **fields)
    incident = Incident.objects.get(kind="outside_failure", reason_code="invalid_request")
    assert incident.detail["bank"] == ""
    assert typed not in str(incident.detail)
    # A bank code of the right shape is still named (an unknown bank, refused by the bank).
    sims_bank = "0991"
    refused("account_not_found", prepare, desk, bank_code=sims_bank, **fields)
    named = Incident.objects.get(kind="outside_failure", reason_code="account_not_found")
    assert named.detail["bank"] == sims_bank
    assert not PublicFundAccount.objects.exists()
