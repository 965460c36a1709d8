"""Issue 11 item 3: one payment account never belongs to two residents, across programmes,
enforced at commit in the database (AccountClaim), also when two desks race."""

import pytest

from madoguchi.benefits import services
from madoguchi.benefits.models import AccountClaim, PaymentLink
from madoguchi.desk.models import Completion
from madoguchi.identity import services as identity
from madoguchi.refusals import Refusal
from tests.benefits import builders
from tests.benefits.conftest import (
    ORIGIN,
    apply_fields,
    commit,
    make_providers,
    new_desk,
    prepare,
    sign,
    start_visit,
)
from tests.visits import commit_at_once

ACCOUNT = {"psid": "7010000000000003", "code": "890", "kana": "スズキ イチロウ"}


@pytest.mark.usefixtures("providers", "systems")
def test_prepared_in_two_programmes_for_two_residents_the_second_commit_is_refused(
    trusted, desk, other_desk
):
    city = builders.programme()
    start_visit(desk, trusted.card("B"))
    start_visit(other_desk, trusted.card("C"))
    prepare(desk, **apply_fields(**ACCOUNT))
    prepare(other_desk, **apply_fields(**ACCOUNT, programme=city.code))  # both pass prepare
    commit(desk, trusted.card("B"))
    with pytest.raises(Refusal) as exc:
        commit(other_desk, trusted.card("C"))
    assert exc.value.code == "account_already_linked"
    assert PaymentLink.objects.count() == 1
    assert AccountClaim.objects.get().holder_id == PaymentLink.objects.get().holder_id


@pytest.mark.usefixtures("providers", "systems")
def test_a_suspended_link_frees_the_account_for_its_real_owner(trusted, desk, other_desk):
    start_visit(desk, trusted.card("B"))
    prepare(desk, **apply_fields(**ACCOUNT))
    commit(desk, trusted.card("B"))
    link = PaymentLink.objects.get()
    services.link_suspend(link, actor=None, reason="mis-link")
    assert not AccountClaim.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_desks_two_programmes_racing_for_one_account_exactly_one_wins(pki, systems, settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    city = builders.programme()
    desks = [new_desk(), new_desk()]
    cards = [pki.card("B"), pki.card("C")]
    programmes = ["mynapoint-2", city.code]
    signed = []
    for d, card, programme in zip(desks, cards, programmes, strict=True):
        start_visit(d, card)
        prepare(d, **apply_fields(**ACCOUNT, programme=programme))
        signed.append((d, *sign(d, card)))
    results = commit_at_once(signed)
    wins = [r for r in results if isinstance(r, Completion)]
    losses = [r for r in results if isinstance(r, Refusal)]
    assert len(wins) == 1, results
    assert [loss.code for loss in losses] == ["account_already_linked"]
    assert PaymentLink.objects.count() == 1
    assert AccountClaim.objects.count() == 1
