"""Probe B (issue #14 acceptance): the legal representative's own /me/ page.

A parent signs a minor's completion with their own card (second signer, #16) and the minor's
points are linked to the parent's own account. Issue #14: the resident page "shows everything
recorded for the card's holder ... each completion with the exact lines the resident signed",
"this was not me" on any link or completion, and who looked at the records.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import services
from madoguchi.desk import services as desk_services
from madoguchi.identity.models import HolderCertificate
from madoguchi.accounts.constants import Role
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
    prepare(desk, **apply_fields(kana=MINOR_KANA, use_representative_exception=True))
    return commit_two_cards(desk, minor_card, parent_card)


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_probe_b_representatives_own_page_shows_the_completion_their_card_signed(
    trusted, desk, minor_card
):
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    assert completion.second_certificate.fingerprint == cardkit.fingerprint(parent)
    client = Client()
    _sign_in(client, parent)
    page = client.get("/me/records/")
    assert page.status_code == 200
    records = page.context["records"]
    # The parent's card signed these exact lines, linking the child's points to the parent's own
    # account: the parent's page must show that completion (and let them say "not me").
    shown = [c["row"].pk for c in records.completions]
    assert completion.pk in shown, "the completion the representative's card signed is not shown"
    r = client.get(f"/me/not-me/completion/{completion.pk}/")
    assert r.status_code == 200, "the representative cannot report the completion as not theirs"


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_probe_b_an_officials_read_of_that_visit_is_in_the_representatives_history(
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
    parent_holder = HolderCertificate.objects.get(fingerprint=cardkit.fingerprint(parent)).holder
    reads = AuditEvent.objects.filter(
        event_name="identity.record_read",
        subject_type="identity.holder",
        subject_id=str(parent_holder.pk),
    )
    assert reads.exists(), "the read of the representative's data is recorded for the child only"
