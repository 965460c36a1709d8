"""Lock order of the case steps that act through benefits: the case row and benefits' rows are
locked before any audit event is recorded (see tests/lockorder.py; a deadlock itself cannot be
shown deterministically)."""

import pytest

from madoguchi.benefits import services as benefits
from madoguchi.benefits.constants import GrantStatus, LinkStatus
from madoguchi.benefits.models import Grant, PaymentLink
from madoguchi.cases import services
from madoguchi.cases.constants import CaseStatus
from madoguchi.refusals import Refusal
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.cases.conftest import open_case
from tests.cases.test_signed_link_case import D, desk  # noqa: F401
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.lockorder import LockOrder

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _step(call, *args, **kwargs):
    with LockOrder() as order:
        result = call(*args, **kwargs)
    order.assert_rows_before_audit()
    return result


def test_case_steps_through_benefits_lock_rows_before_auditing(trusted, desk, official):  # noqa: F811
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    commit(desk, c)
    wrong = PaymentLink.objects.get()
    grant = benefits.card_acquisition_grant(wrong, charged_yen=20000, source_ref="t", actor=None)
    case = open_case(official, payment_link=wrong)
    services.case_investigate(case, actor=official)

    _step(services.case_suspend, case, actor=official, summary="利用停止", **D)
    wrong.refresh_from_db()
    assert wrong.status == LinkStatus.SUSPENDED
    services.case_contact(
        case, actor=official, party="provider", channel="email", summary="連絡", **D
    )
    _step(services.case_return_points, case, actor=official, summary="返還", **D)
    grant.refresh_from_db()
    assert grant.status == GrantStatus.RETURNED
    _step(services.case_reenable, case, actor=official, summary="再申込可能", **D)
    wrong.refresh_from_db()
    assert wrong.status == LinkStatus.REPLACED

    start_visit(desk, c)
    prepare(
        desk,
        **apply_fields(
            psid="7010000000000006", code="2468", kana="ヤマダ ジロウ", confirm_close_match=True
        ),
    )
    commit(desk, c)
    right = PaymentLink.objects.get(status=LinkStatus.EFFECTIVE)
    entry = _step(services.case_regrant, case, actor=official, to_link=right, **D)
    assert entry.status == CaseStatus.REENABLED
    assert Grant.objects.get(regrant_of=grant).link == right


def test_a_step_not_allowed_now_is_refused_before_benefits_acts(link_case):
    case, link, official = link_case
    with pytest.raises(Refusal) as exc:
        services.case_reenable(case, actor=official, summary="再申込可能", **D)
    assert exc.value.code == "transition_not_allowed"
    link.refresh_from_db()
    assert link.status == LinkStatus.EFFECTIVE


@pytest.fixture
def link_case(trusted, desk, official):  # noqa: F811
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    commit(desk, c)
    link = PaymentLink.objects.get()
    case = open_case(official, payment_link=link)
    services.case_investigate(case, actor=official)
    return case, link, official
