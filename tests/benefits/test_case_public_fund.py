"""A public-fund case acts on the registration it is about: suspending the case suspends the
resident's public-fund account registration, re-enabling releases it, so the account's real
holder can register it to themselves at a desk (refused while the wrong one was effective)."""

from datetime import date

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.constants import LinkStatus
from madoguchi.benefits.models import PublicFundAccount
from madoguchi.cases import services as cases
from madoguchi.cases.constants import CaseStatus, Programme
from tests import factories
from tests.benefits.conftest import commit, prepare, refused, start_visit
from tests.benefits.test_case_comparison import _case as case_for
from tests.benefits.test_registrations import public_fund
from tests.lockorder import LockOrder

pytestmark = pytest.mark.usefixtures("providers", "systems")
D = {"event_date": date(2026, 11, 30), "date_precision": "day"}


def _case(official, holder):
    return case_for(official, holder, Programme.PUBLIC_FUND)


def _step(call, *args, **kwargs):
    with LockOrder() as order:
        result = call(*args, **kwargs)
    order.assert_rows_before_audit()
    return result


def test_re_enabling_a_public_fund_case_releases_the_wrong_registration(trusted, desk):
    # Card A's resident was registered with Yamada Taro's account (the kana entered was his).
    a, c = trusted.card("A"), trusted.card("C")
    wrong_visit = start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, a)
    wrong = PublicFundAccount.objects.get()
    # The account's real holder cannot register it: it is effective for A.
    start_visit(desk, c)
    refused("account_already_linked", prepare, desk, kind="public_fund_account", **public_fund())

    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, wrong_visit.holder)
    cases.case_investigate(case, actor=official)
    entry = _step(cases.case_suspend, case, actor=official, summary="利用停止", **D)
    wrong.refresh_from_db()
    assert wrong.status == LinkStatus.SUSPENDED
    assert wrong.status_changed_at is not None
    assert wrong.status_reason == f"{case.reference}: 利用停止"
    assert entry.detail == {"public_fund_account": wrong.pk}
    event = AuditEvent.objects.get(event_name="benefits.public_fund_suspended")
    assert event.event_type is not None
    ja, en = (
        event.event_type.render(event.payload, "ja"),
        event.event_type.render(event.payload, "en"),
    )
    assert "公金受取口座の登録を利用停止にしました" in ja
    assert "＊＊＊4567" in ja
    assert "registration suspended" in en

    cases.case_contact(case, actor=official, party="resident", channel="phone", summary="連絡", **D)
    cases.case_correct(case, actor=official, summary="国の登録の訂正を依頼", **D)
    entry = _step(cases.case_reenable, case, actor=official, summary="再登録可能", **D)
    assert case.status == CaseStatus.REENABLED
    wrong.refresh_from_db()
    assert wrong.status == LinkStatus.REPLACED
    assert wrong.status_reason == f"{case.reference}: 再登録可能"
    assert AuditEvent.objects.filter(event_name="benefits.public_fund_released").count() == 1

    # Now the real holder registers their own account at a desk, with their card.
    visit = start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    right = PublicFundAccount.objects.get(status=LinkStatus.EFFECTIVE)
    assert right.holder == visit.holder
    assert right.account_hash == wrong.account_hash


def test_a_public_fund_case_without_a_registration_says_so_and_changes_nothing(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, a)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, None)  # no resident: nothing identifiable
    cases.case_investigate(case, actor=official)
    entry = cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert "特定できないため、登録の状態は変更していません" in entry.summary
    assert entry.detail == {"public_fund_account": None}
    cases.case_contact(case, actor=official, party="resident", channel="phone", summary="連絡", **D)
    cases.case_correct(case, actor=official, summary="訂正", **D)
    entry = cases.case_reenable(case, actor=official, summary="再登録可能", **D)
    assert "変更していません" in entry.summary
    assert PublicFundAccount.objects.get().status == LinkStatus.EFFECTIVE
    assert not AuditEvent.objects.filter(event_name__startswith="benefits.public_fund_s").exists()


def _compare(case, official, number, branch="001"):
    return cases.case_compare_account(
        case,
        actor=official,
        account_number=number,
        date_precision="unknown",
        bank_code="0990",
        branch_code=branch,
        account_type="ordinary",
    ).comparison


def _investigated(trusted, desk):
    """Card A's resident registered Yamada Taro's account; a case on them, investigated."""
    a = trusted.card("A")
    visit = start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, a)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, visit.holder)
    cases.case_investigate(case, actor=official)
    return a, visit, official, case


def test_a_case_is_about_its_registration_not_the_residents_next_one(trusted, desk):
    """Once the resident registered again, the case still reads the registration it is about:
    it read the resident's latest, whatever its status, so its page showed the new account's
    holder and its comparison compared with the resident's own new account ("the same")."""
    from madoguchi.cases import selectors

    a, visit, official, case = _investigated(trusted, desk)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    cases.case_contact(case, actor=official, party="resident", channel="phone", summary="連絡", **D)
    cases.case_correct(case, actor=official, summary="国の登録の訂正を依頼", **D)
    cases.case_reenable(case, actor=official, summary="再登録可能", **D)
    # The resident registers their own account (佐藤 花子's in the bank's records here).
    start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund("2345678", kana="サトウ ハナコ"))
    commit(desk, a)
    assert PublicFundAccount.objects.filter(holder=visit.holder).count() == 2
    # The case's page names the holder of the account the case suspended.
    assert selectors.holder_kana(case).kana == "ﾔﾏﾀﾞ ﾀﾛｳ"

    # A case under investigation whose registration another case released meanwhile, the
    # resident registering again: it compares with the registration made before it opened.
    b = trusted.card("B")
    other = start_visit(desk, b)
    prepare(desk, kind="public_fund_account", **public_fund())  # A's released it
    commit(desk, b)
    later = _case(official, other.holder)
    cases.case_investigate(later, actor=official)
    PublicFundAccount.objects.filter(holder=other.holder).update(status=LinkStatus.REPLACED)
    start_visit(desk, b)
    prepare(
        desk,
        kind="public_fund_account",
        **public_fund("4567890", kana="ヤマダ ハナコ", branch_code="002"),
    )
    commit(desk, b)
    assert _compare(later, official, "4567890", branch="002") == "different"
    assert _compare(later, official, "1234567") == "same"


def test_a_case_never_suspends_the_account_the_resident_registered_after_it_opened(trusted, desk):
    """The case's registration was released by another case meanwhile and the resident
    registered their own account: suspending the case suspended that new registration (the
    resident's effective one), stopping their own payments; now it suspends nothing."""
    a, visit, official, case = _investigated(trusted, desk)
    PublicFundAccount.objects.filter(holder=visit.holder).update(status=LinkStatus.REPLACED)
    start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund("2345678", kana="サトウ ハナコ"))
    commit(desk, a)
    entry = cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert entry.detail == {"public_fund_account": None}
    assert "変更していません" in entry.summary
    own = PublicFundAccount.objects.get(holder=visit.holder, account_last4="5678")
    assert own.status == LinkStatus.EFFECTIVE
