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
