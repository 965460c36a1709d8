"""Two desks linking one account at once; the minor + legal representative exception."""

import threading

import pytest
from django.db import connection

from madoguchi.benefits import services
from madoguchi.benefits.models import PaymentLink, VisitRepresentative
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Completion
from madoguchi.identity import services as identity
from madoguchi.refusals import Refusal
from tests import cardkit
from tests.benefits.conftest import (
    ORIGIN,
    apply_fields,
    commit,
    make_providers,
    new_desk,
    prepare,
    refused,
    sign,
    start_visit,
)


@pytest.mark.django_db(transaction=True)
def test_two_desks_linking_one_account_at_once_exactly_one_wins(pki, systems, settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    desks = [new_desk(), new_desk()]
    cards = [pki.card("B"), pki.card("C")]
    signed = []
    for d, card in zip(desks, cards, strict=True):
        start_visit(d, card)
        prepare(d, **apply_fields(psid="7010000000000003", code="890", kana="スズキ イチロウ"))
        signed.append((d, *sign(d, card)))
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run(d, ch, token):
        barrier.wait()
        try:
            results.append(
                desk_services.completion_commit(desk_session=d, token=token, nonce=ch.nonce.value)
            )
        except Refusal as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=s) for s in signed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if isinstance(r, Completion)]
    losses = [r for r in results if isinstance(r, Refusal)]
    assert len(wins) == 1, results
    assert len(losses) == 1
    assert losses[0].code == "account_already_linked"
    assert PaymentLink.objects.count() == 1
    assert Completion.objects.count() == 1


def _representative(desk, card, **kwargs):
    nonce = services.representative_challenge(desk).value
    token = cardkit.auth_token(card, ORIGIN, nonce)
    return services.representative_authenticate(desk, token, nonce, **kwargs)


MINOR = {"use_representative_exception": True, "resident_birth_date": "2014-05-05"}


@pytest.mark.usefixtures("providers", "systems")
def test_minor_with_representatives_own_card_links_the_representatives_account(trusted, desk):
    a, c = trusted.card("A"), trusted.card("C")
    start_visit(desk, a)
    # Without the exception: no match, blocked.
    refused("name_no_match", prepare, desk, **apply_fields(kana="サカイ ハナコ"))
    # The exception needs the representative's own card first.
    refused("representative_required", prepare, desk, **apply_fields(kana="サカイ ハナコ", **MINOR))
    rep = _representative(desk, c, relationship="parent", kana="ヤマダ タロウ", kana_confirmed=True)
    assert rep.certificate.fingerprint == cardkit.fingerprint(c)
    p = prepare(desk, **apply_fields(kana="サカイ ハナコ", **MINOR))
    assert "_birth" not in str(p.fields)
    assert "2014" not in str(p.fields)
    completion = commit(desk, a)  # the resident's own card signs
    link = PaymentLink.objects.get()
    assert link.name_outcome == "no_match"
    assert link.name_exception == "minor_representative"
    assert link.representative == rep
    assert link.representative_outcome == "match"
    signed = bytes(completion.transaction_bytes).decode()
    assert rep.certificate.fingerprint in signed
    assert '"name_exception":"minor_representative"' in signed


@pytest.mark.usefixtures("providers", "systems")
def test_exception_refused_for_an_adult(trusted, desk):
    start_visit(desk, trusted.card("A"))
    _representative(desk, trusted.card("C"), kana="ヤマダ タロウ", kana_confirmed=True)
    refused(
        "exception_not_minor",
        prepare,
        desk,
        **apply_fields(
            kana="サカイ ハナコ",
            use_representative_exception=True,
            resident_birth_date="1980-04-01",
        ),
    )


@pytest.mark.usefixtures("providers", "systems")
def test_representative_must_use_their_own_card(trusted, desk):
    a = trusted.card("A")
    start_visit(desk, a)
    with pytest.raises(Refusal) as exc:
        _representative(desk, a, kana="サカイ ハナコ", kana_confirmed=True)
    assert exc.value.code == "representative_is_resident"
    assert not VisitRepresentative.objects.exists()


@pytest.mark.usefixtures("providers", "systems")
def test_exception_still_blocks_when_the_account_is_not_the_representatives(trusted, desk):
    start_visit(desk, trusted.card("A"))
    _representative(desk, trusted.card("B"), kana="スズキ イチロウ", kana_confirmed=True)
    refused("name_no_match", prepare, desk, **apply_fields(kana="サカイ ハナコ", **MINOR))
    assert not PaymentLink.objects.exists()
