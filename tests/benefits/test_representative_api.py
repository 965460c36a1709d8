"""The legal-representative exception through the JSON API (as desk.js drives it): the server
verifies the minor's basic four, the explicit handover, the representative's own card, both
cards signing one completion; refusals in English with the Japanese beside."""

import base64
import json

import pytest
from django.urls import reverse

from madoguchi.benefits.models import PaymentLink
from madoguchi.desk.models import Completion
from tests import cardkit, checklistkit
from tests.benefits.conftest import ORIGIN
from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("providers", "systems", "support_keys")

API = "/api/v1/visits"
FIELDS = {
    "provider": "sim-pay",
    "payment_service_id": "7010000000000001",  # ﾔﾏﾀﾞ ﾀﾛｳ: the representative's account
    "security_code": "123",
    "resident_kana": "サトウ ショウタ",
    "resident_kana_confirmed": True,
    "use_representative_exception": True,
}


def _post(client, path, body=None):
    r = client.post(API + path, json.dumps(body or {}), content_type="application/json")
    return r.status_code, r.json() if r.content else {}


def _representative(client, card, **extra):
    status, ch = _post(client, "/current/representative/challenge")
    assert status == 200, ch
    token = cardkit.auth_token(card, ORIGIN, ch["nonce"])
    return _post(
        client,
        "/current/representative",
        {"token": token, "nonce": ch["nonce"], "kana": "ヤマダ タロウ", "kana_confirmed": True}
        | extra,
    )


def test_minor_and_parent_through_the_api(trusted, staff_client, minor_card):  # noqa: F811
    c = trusted.card("C")
    start(staff_client, minor_card)
    # Typed or page-made birth dates count for nothing: the card's own record, verified.
    status, body = _post(staff_client, "/current/procedures", {
        "kind": "point_application", "fields": FIELDS | {"resident_birth_date": "2014-02-03"},
    })  # fmt: skip
    assert (status, body["code"]) == (400, "resident_birth_date_unread"), body
    files = cardkit.basic_four_files(minor_card)
    forged = base64.b64decode(files["ef0002"]).replace(b"20140203", b"20150203")
    status, body = _post(
        staff_client, "/current/basic-four", files | {"ef0002": base64.b64encode(forged).decode()}
    )
    assert (status, body["code"]) == (400, "basic_four_invalid")
    assert "integrity check" in body["message"]
    status, body = _post(staff_client, "/current/basic-four", files)
    assert (status, body) == (200, {"name": "佐藤\u3000翔太", "verified": True})
    # The representative's card only after the explicit handover; never the resident's own.
    status, body = _post(staff_client, "/current/representative/challenge")
    assert (status, body["code"]) == (409, "handover_not_started")
    assert body["message_ja"]
    status, body = _post(staff_client, "/current/handover")
    assert status == 200, body
    status, body = _representative(staff_client, minor_card)
    assert (status, body["code"]) == (409, "representative_is_resident")
    assert body["message"] == "The representative must use their own card, not the resident's."
    status, body = _representative(staff_client, c, relationship="parent")
    assert status == 200, body
    assert body["relationship_ja"] == "親権者"
    assert body["certificate"] == cardkit.fingerprint(c)
    status, body = _post(
        staff_client, "/current/procedures", {"kind": "point_application", "fields": FIELDS}
    )
    assert status == 200, body
    checklistkit.tick_before(staff_client.desk)
    status, ch = _post(staff_client, "/current/completion-challenge")
    assert status == 200, ch
    assert any("法定代理人による申請: 親権者" in line for line in ch["display"])
    tx = base64.b64decode(ch["transaction"])
    assert json.loads(tx)["second_certificate"] == cardkit.fingerprint(c)
    first = cardkit.completion_token(minor_card, ORIGIN, ch["nonce"], tx)
    second = cardkit.completion_token(c, ORIGIN, ch["nonce"], tx)
    status, body = _post(
        staff_client,
        "/current/complete",
        {"token": first, "nonce": ch["nonce"], "second_token": second},
    )
    assert status == 200, body
    link = PaymentLink.objects.get()
    assert link.representative.relationship == "parent"
    # The receipt says it in sentences.
    page = staff_client.get(reverse("desk:receipt")).content.decode()
    assert "法定代理人による申請: 親権者の口座を使用します" in page
    # Dated as the resident's letters and page date things (it said 2026-12-01 16:25:07).
    from django.utils import timezone

    from madoguchi.era import format_era_time

    committed = timezone.localtime(Completion.objects.get().committed_at)
    assert f"{format_era_time(committed, seconds=True)} に来庁者のカードで確定しました" in page
    from madoguchi.benefits.receipts import receipt_html

    html = receipt_html(Completion.objects.get())
    assert "法定代理人（親権者）の名義の口座を使う申請です" in html
    assert "ご本人と法定代理人（親権者）のマイナンバーカードによる署名で確定しました" in html
    english = receipt_html(Completion.objects.get(), "en")
    assert (
        "using the account of their legal representative (Parent (person with parental "
        "authority))." in english
    )
    assert (
        "confirmed by the signature of the My Number cards of the resident and of their legal "
        "representative." in english
    )


def test_the_residents_token_alone_commits_nothing(trusted, staff_client, minor_card):  # noqa: F811
    start(staff_client, minor_card)
    assert (
        _post(staff_client, "/current/basic-four", cardkit.basic_four_files(minor_card))[0] == 200
    )
    _post(staff_client, "/current/handover")
    assert _representative(staff_client, trusted.card("C"))[0] == 200
    _post(staff_client, "/current/procedures", {"kind": "point_application", "fields": FIELDS})
    checklistkit.tick_before(staff_client.desk)
    _, ch = _post(staff_client, "/current/completion-challenge")
    tx = base64.b64decode(ch["transaction"])
    first = cardkit.completion_token(minor_card, ORIGIN, ch["nonce"], tx)
    status, body = _post(staff_client, "/current/complete", {"token": first, "nonce": ch["nonce"]})
    assert (status, body["code"]) == (403, "second_signature_required")
    assert "nothing was committed" in body["message"]
    assert not PaymentLink.objects.exists()


def test_openapi_documents_the_two_card_flow(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    for path in ("handover", "basic-four", "representative", "representative/challenge"):
        assert f"/api/v1/visits/current/{path}" in doc["paths"], path
    complete = json.dumps(doc["components"]["schemas"]["CompleteIn"])
    assert "second_token" in complete


def test_the_handover_for_an_adult_is_refused_in_english_with_the_japanese_beside(
    trusted,
    staff_client,  # noqa: F811
):
    """The desk page's handover button on an adult's visit: refused before the representative's
    card or PIN, the Japanese sentence (shown on the desk page) saying why and what to do."""
    a = trusted.card("A")
    start(staff_client, a)
    assert _post(staff_client, "/current/basic-four", cardkit.basic_four_files(a))[0] == 200
    status, body = _post(staff_client, "/current/handover")
    assert status == 409, body
    assert body["code"] == "representative_not_for_adult"
    assert "adult guardianship" in body["message"]
    assert "成年後見" in body["message_ja"]
    assert _post(staff_client, "/current/representative/challenge")[1]["code"] == (
        "handover_not_started"
    )
