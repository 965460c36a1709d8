"""A case about a resident's own public-fund account or insurance registration (opened from
their "this was not me", so no legacy link) compares what the resident presents with that
registration, hashed as the registration hashed it."""

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.constants import ComparisonResult, Programme
from madoguchi.refusals import Refusal
from tests import factories
from tests.benefits.conftest import commit, drain, prepare, start_visit
from tests.benefits.test_registrations import HI, public_fund

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _case(official, holder, programme):
    return cases.case_open(
        actor=official,
        title="",
        resident_label="申し出た本人",
        reported_by="本人",
        summary="身に覚えのない登録",
        date_precision="unknown",
        holder=holder,
        programme=programme,
    )


def test_a_public_fund_case_compares_with_the_residents_registered_account(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, visit.holder, Programme.PUBLIC_FUND)
    account = {"bank_code": "0990", "branch_code": "001", "account_type": "ordinary"}
    other = cases.case_compare_account(
        case, actor=official, account_number="7654321", date_precision="unknown", **account
    )
    assert other.comparison == ComparisonResult.DIFFERENT
    same = cases.case_compare_account(
        case, actor=official, account_number="1234567", date_precision="unknown", **account
    )
    assert same.comparison == ComparisonResult.SAME
    # Without a resident (so no registration) there is nothing to compare with: refused.
    empty = _case(official, None, Programme.PUBLIC_FUND)
    with pytest.raises(Refusal) as exc:
        cases.case_compare_account(
            empty, actor=official, account_number="1234567", date_precision="unknown", **account
        )
    assert exc.value.code == "no_link"


def test_an_insurance_case_compares_with_the_residents_registration(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, visit.holder, Programme.HEALTH_INSURANCE)
    ident = {k: HI[k] for k in ("insurer_number", "insured_symbol", "branch")}
    same = cases.case_compare_insured(
        case, actor=official, insured_number=HI["insured_number"], date_precision="unknown", **ident
    )
    assert same.comparison == ComparisonResult.SAME
    other = cases.case_compare_insured(
        case, actor=official, insured_number="88120046", date_precision="unknown", **ident
    )
    assert other.comparison == ComparisonResult.DIFFERENT
