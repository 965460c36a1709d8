"""What a completion grants now, and what the resident could still apply for: the signed lines
and the receipt must never list the registration categories as granted by an application alone."""

import json

import pytest

from madoguchi.benefits import receipts
from madoguchi.benefits.models import Grant
from madoguchi.desk import services as desk_services
from tests.benefits.conftest import apply_fields, commit, drain, prepare, start_visit
from tests.benefits.test_registrations import HI, public_fund

pytestmark = pytest.mark.usefixtures("providers", "systems")

NOW = "このお手続きで付与されるポイント: "
LATER = "今後のお手続きで付与: "


def _display(visit):
    return desk_services.build_transaction(visit)["display"]


def test_point_application_alone_grants_nothing_now_and_lists_what_remains(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    lines = _display(visit)
    assert f"{NOW}なし" in lines
    later = [line for line in lines if line.startswith(LATER)]
    assert any("健康保険証としての利用登録: 7,500ポイント" in line for line in later), later
    assert any("公金受取口座の登録: 7,500ポイント" in line for line in later), later
    assert any("上限5,000ポイント" in line for line in later), later
    assert not any("7,500" in line for line in lines if line.startswith(NOW))
    completion = commit(desk, c)
    assert not Grant.objects.exists()
    # The signed lines are what the desk receipt shows.
    signed = json.loads(bytes(completion.transaction_bytes))["display"]
    assert f"{NOW}なし" in signed
    data = receipts.receipt_data(completion)
    assert data.grants == []
    assert any("健康保険証" in line for line in data.later)
    assert any("公金受取口座" in line for line in data.later)
    html = receipts.receipt_html(completion)
    assert "このお手続きで付与されたポイント" in html
    assert "今後のお手続きで付与されるポイント" in html


def test_application_with_registrations_in_the_same_completion_grants_them_now(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    prepare(desk, kind="public_fund_account", **public_fund())
    prepare(desk, kind="health_insurance_use", **HI)
    lines = _display(visit)
    now = next(line for line in lines if line.startswith(NOW))
    assert "健康保険証としての利用登録: 7,500ポイント" in now
    assert "公金受取口座の登録: 7,500ポイント" in now
    assert not any("7,500" in line for line in lines if line.startswith(LATER))
    completion = commit(desk, c)
    drain()  # the health-insurance grant follows the insurer's answer
    data = receipts.receipt_data(completion)
    assert len(data.grants) == 2
    assert all("7,500" not in line for line in data.later)


def test_registration_made_earlier_is_granted_by_the_application(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    lines = _display(visit)
    assert f"{NOW}公金受取口座の登録: 7,500ポイント" in lines
    assert any("健康保険証" in line for line in lines if line.startswith(LATER))
