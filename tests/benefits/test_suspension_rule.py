"""One rule for a suspended link or registration, in both programmes a case acts on: the
suspension frees the account (its real holder may register it to themselves at once, the wrong
registration no longer counts), but it still holds the wrongly registered resident's place
until the case re-enables (releases) it; then they register their own. Two desks registering
the freed account at once: exactly one wins, the other is refused saying why."""

import pytest
from django.utils import translation

from madoguchi.accounts.constants import Role
from madoguchi.benefits import services
from madoguchi.benefits.constants import LinkStatus
from madoguchi.benefits.models import PaymentLink, PublicFundAccount
from madoguchi.desk.models import Completion
from madoguchi.identity import services as identity
from madoguchi.refusals import Refusal
from tests import factories
from tests.benefits.conftest import (
    apply_fields,
    commit,
    make_providers,
    new_desk,
    prepare,
    refused,
    sign,
    start_visit,
)
from tests.benefits.test_registrations import public_fund
from tests.visits import commit_at_once


def _official():
    return factories.staff(Role.CITY_OFFICIAL)


def _refusal(code, fn, *args, **kwargs):
    with pytest.raises(Refusal) as info:
        fn(*args, **kwargs)
    assert info.value.code == code
    return info.value


@pytest.mark.usefixtures("providers", "systems")
def test_a_suspended_registration_frees_the_account_and_holds_the_residents_place(trusted, desk):
    a, c = trusted.card("A"), trusted.card("C")
    start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, a)
    wrong = PublicFundAccount.objects.get()
    official = _official()
    services.public_fund_suspend(wrong, actor=official, reason="CASE-00001: 利用停止")

    # The wrongly registered resident: refused, saying why and what comes next.
    start_visit(desk, a)
    exc = _refusal(
        "public_fund_suspended",
        prepare,
        desk,
        kind="public_fund_account",
        **public_fund(),
    )
    with translation.override("ja"):
        assert "利用停止中" in str(exc.message)
        assert "再登録を可能にした後" in str(exc.message)
    with translation.override("en"):
        assert "suspended by a remediation case" in str(exc.message)

    # The account's real holder registers it to themselves at once.
    visit = start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    assert PublicFundAccount.objects.get(status=LinkStatus.EFFECTIVE).holder == visit.holder

    # Re-enabled by the case: the resident's place is free (the account is C's now).
    services.public_fund_release_via_case(
        wrong, actor=official, case_ref="CASE-00001", reason="再登録可能"
    )
    start_visit(desk, a)
    refused("account_already_linked", prepare, desk, kind="public_fund_account", **public_fund())


@pytest.mark.usefixtures("providers", "systems")
def test_a_suspended_point_link_follows_the_same_rule(trusted, desk):
    a, c = trusted.card("A"), trusted.card("C")
    start_visit(desk, a)
    prepare(desk, **apply_fields())
    commit(desk, a)
    wrong = PaymentLink.objects.get()
    official = _official()
    services.link_suspend(wrong, actor=official, reason="CASE-00001: 利用停止")
    # The provider's report grants nothing through it, and says why.
    wrong.refresh_from_db()
    exc = _refusal(
        "link_not_effective",
        services.card_acquisition_grant,
        wrong,
        charged_yen=20000,
        source_ref="report",
    )
    assert "利用停止中" in exc.message_ja
    assert "suspended" in exc.message_en

    start_visit(desk, a)
    exc = _refusal("link_suspended", prepare, desk, **apply_fields(psid="7010000000000004"))
    with translation.override("ja"):
        assert "利用停止中" in str(exc.message)

    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    assert PaymentLink.objects.get(status=LinkStatus.EFFECTIVE).holder == visit.holder


def _race(pki, kind, fields):
    """Two residents at two desks commit the same account at once: one wins, one refused."""
    desks = [new_desk(), new_desk()]
    signed = []
    for d, card in zip(desks, [pki.card("B"), pki.card("C")], strict=True):
        start_visit(d, card)
        prepare(d, kind=kind, **fields)
        signed.append((d, *sign(d, card)))
    results = commit_at_once(signed)
    wins = [r for r in results if isinstance(r, Completion)]
    losses = [r for r in results if isinstance(r, Refusal)]
    assert len(wins) == 1, results
    assert len(losses) == 1, results
    assert losses[0].code == "account_already_linked"
    return wins[0]


@pytest.mark.django_db(transaction=True)
def test_two_desks_registering_a_suspended_registrations_account_at_once_one_wins(
    pki, systems, settings
):
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    a, d = pki.card("A"), new_desk()
    start_visit(d, a)
    prepare(d, kind="public_fund_account", **public_fund())
    commit(d, a)
    wrong = PublicFundAccount.objects.get()
    services.public_fund_suspend(wrong, actor=_official(), reason="CASE-00001: 利用停止")
    _race(pki, "public_fund_account", public_fund())
    assert PublicFundAccount.objects.filter(status=LinkStatus.EFFECTIVE).count() == 1
    assert PublicFundAccount.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_desks_linking_a_suspended_links_account_at_once_one_wins(pki, systems, settings):
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    a, d = pki.card("A"), new_desk()
    start_visit(d, a)
    prepare(d, **apply_fields())
    commit(d, a)
    services.link_suspend(PaymentLink.objects.get(), actor=_official(), reason="CASE-00001")
    _race(pki, "point_application", apply_fields())
    assert PaymentLink.objects.filter(status=LinkStatus.EFFECTIVE).count() == 1


@pytest.mark.usefixtures("providers", "systems")
def test_the_migration_to_this_rule_names_the_holders_it_cannot_apply_to(trusted, desk):
    """Before the rule a resident whose registration was suspended could register another; such
    data makes the constraint's migration stop with the holders named, not a bare IntegrityError."""
    import importlib

    from django.apps import apps
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("dropping a constraint inside the test's transaction needs PostgreSQL's DDL")
    step = importlib.import_module(
        "madoguchi.benefits.migrations.0008_public_fund_suspended_holds_resident"
    )
    a, c = trusted.card("A"), trusted.card("C")
    start_visit(desk, a)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, a)
    wrong = PublicFundAccount.objects.get()
    services.public_fund_suspend(wrong, actor=_official(), reason="CASE-00001: 利用停止")
    start_visit(desk, c)
    prepare(desk, kind="public_fund_account", **public_fund())
    commit(desk, c)
    step.refuse_two_places(apps, None)  # one place each: nothing to say

    # The data an earlier version could leave: A's suspended one and a later effective one.
    constraint = next(
        con
        for con in PublicFundAccount._meta.constraints
        if con.name == "benefits_one_public_fund_account_per_holder"
    )
    with connection.schema_editor() as editor:
        editor.remove_constraint(PublicFundAccount, constraint)
    PublicFundAccount.objects.exclude(pk=wrong.pk).update(holder_id=wrong.holder_id)
    with pytest.raises(RuntimeError, match=rf"\[{wrong.holder_id}\].*nothing was changed"):
        step.refuse_two_places(apps, None)
