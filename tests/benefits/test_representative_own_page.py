"""The legal representative's own page (/me/) and history (docs/resident.md, "A legal
representative's records").

A parent signs a minor's completion with their own card (the second signer) and the minor's
points are linked to the parent's own account. The parent's page showed neither: the completion
their card signed and the link into their account were not theirs to see or to report as "this
was not me", and an official's read of that visit was recorded for the child only.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import services
from madoguchi.benefits.models import PaymentLink
from madoguchi.desk import services as desk_services
from madoguchi.identity.models import HolderCertificate
from madoguchi.incidents.selectors import visit_holder_ids
from madoguchi.residents.models import NotMeReport
from tests import cardkit, factories
from tests.benefits.conftest import ORIGIN, apply_fields, prepare, start_visit
from tests.visits import commit_two_cards, verify_basic_four

ME_ORIGIN = "http://localhost:8000"
MINOR_KANA = "サトウ ショウタ"


@pytest.fixture(autouse=True)
def _me_origin(settings):
    settings.RESIDENT_ORIGIN = ME_ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 120


def _sign_in(client: Client, card):
    nonce = client.post("/me/challenge").json()["nonce"]
    r = client.post(
        "/me/sign-in",
        data=json.dumps({"token": cardkit.auth_token(card, ME_ORIGIN, nonce), "nonce": nonce}),
        content_type="application/json",
    )
    assert r.status_code == 200, r.content


def _representative_completion(desk, minor_card, parent_card):
    """A point application under the minor-representative exception, committed with both
    cards: the minor's points paid into the parent's own account."""
    _representative_authenticated(desk, minor_card, parent_card)
    prepare(desk, **apply_fields(kana=MINOR_KANA, use_representative_exception=True))
    return commit_two_cards(desk, minor_card, parent_card)


def _representative_authenticated(desk, minor_card, parent_card):
    """A minor's visit, handed over to the parent (`parent_card`) authenticated as 親権者."""
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    desk_services.visit_handover_start(desk_session=desk)
    nonce = services.representative_challenge(desk).value
    services.representative_authenticate(
        desk,
        cardkit.auth_token(parent_card, ORIGIN, nonce),
        nonce,
        relationship="parent",
        kana="ヤマダ タロウ",
        kana_confirmed=True,
    )


def _holder(card):
    return HolderCertificate.objects.get(fingerprint=cardkit.fingerprint(card)).holder


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_representatives_own_page_shows_the_completion_their_card_signed(trusted, desk, minor_card):
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    assert completion.second_certificate.fingerprint == cardkit.fingerprint(parent)
    link = PaymentLink.objects.get(completion=completion)
    assert link.representative is not None
    client = Client()
    _sign_in(client, parent)
    page = client.get("/me/records/")
    assert page.status_code == 200
    records = page.context["records"]
    # The parent's card signed these exact lines, linking the child's points to the parent's own
    # account: the parent's page shows that completion and that link (and lets them say "not me").
    (shown,) = records.completions
    assert shown["row"].pk == completion.pk
    assert shown["as_representative"]
    assert shown["lines"]  # the lines their card signed
    (shown_link,) = records.links
    assert shown_link["row"].pk == link.pk
    assert shown_link["as_representative"]
    assert not records.grants  # the child's points are the child's
    text = page.content.decode()
    assert "法定代理人" in text  # said in Japanese: signed as another resident's representative
    # Nothing more of the child than the lines: no receipt (the child's), no names compared.
    assert f"/me/receipts/{completion.pk}.pdf" not in text
    assert 'data-testid="compared-kana"' not in text
    assert client.get(f"/me/receipts/{completion.pk}.pdf").status_code == 404
    assert client.get(f"/me/not-me/completion/{completion.pk}/").status_code == 200
    assert client.get(f"/me/not-me/link/{link.pk}/").status_code == 200
    r = client.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    assert r.status_code == 302, r.content.decode()[:300]
    report = NotMeReport.objects.get()
    assert report.holder == _holder(parent)
    assert report.case.holder == _holder(parent)
    assert report.case.payment_link == link
    # The page says it was reported, on the link.
    page = client.get("/me/records/")
    assert page.context["records"].links[0]["report"]["row"] == report


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_childs_page_is_unchanged_and_another_card_sees_nothing(trusted, desk, minor_card):
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    child = Client()
    _sign_in(child, minor_card)
    records = child.get("/me/records/").context["records"]
    assert [c["row"].pk for c in records.completions] == [completion.pk]
    assert not records.completions[0]["as_representative"]
    assert not records.links[0]["as_representative"]
    assert f"/me/receipts/{completion.pk}.pdf" in child.get("/me/records/").content.decode()
    other = Client()
    _sign_in(other, trusted.card("B"))
    records = other.get("/me/records/").context["records"]
    assert not records.completions
    assert not records.links
    assert other.get(f"/me/not-me/completion/{completion.pk}/").status_code == 404


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_an_officials_read_of_that_visit_is_in_the_representatives_history(
    trusted, desk, minor_card
):
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    page = o.get(f"/officials/visits/{completion.visit.public_id}/?reason=resident_inquiry")
    assert page.status_code == 200
    # The visit page shows the lines the representative's card signed (their account used).
    text = page.content.decode()
    assert "法定代理人" in text
    for card in (minor_card, parent):
        (read,) = AuditEvent.objects.filter(
            event_name="identity.record_read",
            subject_type="identity.holder",
            subject_id=str(_holder(card).pk),
        )
        assert read.payload["page"] == "officials.visit"
        assert read.payload["object"] == f"desk.visit:{completion.visit.pk}"
        assert read.payload["reason"] == "resident_inquiry"
    parent_page = Client()
    _sign_in(parent_page, parent)
    (row,) = parent_page.get("/me/records/").context["history"]
    assert row["reason"]


def _reads(holder, page):
    return AuditEvent.objects.filter(
        event_name="identity.record_read",
        subject_type="identity.holder",
        subject_id=str(holder.pk),
        payload__page=page,
    )


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_case_and_incident_pages_of_that_visit_are_reads_of_both_residents(
    trusted, desk, minor_card
):
    """The parent reports the link made into their account: the case (the parent's, about the
    child's link) and the complaint incident of the child's visit show both residents, and an
    official's read of each is on both their pages."""
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    me = Client()
    _sign_in(me, parent)
    me.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    report = NotMeReport.objects.get()
    official = factories.staff(Role.CITY_OFFICIAL)
    o = Client()
    o.force_login(official)
    assert o.get(f"/cases/{report.case.pk}/?reason=case_work").status_code == 200
    assert o.get(f"/cases/{report.case.pk}/report/?reason=case_work").status_code == 200
    assert o.get(f"/incidents/{report.incident.pk}/?reason=incident").status_code == 200
    assert o.get("/officials/incidents/?reason=incident").status_code == 200
    for card in (minor_card, parent):
        holder = _holder(card)
        for page in ("cases.case", "cases.report", "incidents.incident", "officials.incidents"):
            assert _reads(holder, page).count() == 1, (card, page)
    # The daily report's reads (its incidents' visits) name both too.
    assert sorted(visit_holder_ids([report.incident.pk])) == sorted(
        [_holder(minor_card).pk, _holder(parent).pk]
    )
