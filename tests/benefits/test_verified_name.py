"""The resident's name a procedure carries (signed, stored, printed on the receipt) is the name
of the card's basic four the server verified in this visit, never the desk's word: a different
name sent by the desk page or an API client is refused and nothing stored (docs/desk.md "The
resident's name")."""

import json

import pytest

from madoguchi.benefits import receipts
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Procedure, Visit
from tests import cardkit
from tests.benefits.conftest import apply_fields, commit, prepare, refused, start_visit
from tests.benefits.test_race_and_representative import EXCEPTION, MINOR_KANA, _representative
from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)
from tests.visits import commit_two_cards, verify_basic_four

pytestmark = pytest.mark.usefixtures("providers", "systems", "support_keys")

API = "/api/v1/visits"
CARD_C = "山田\u3000太郎"  # card C's name as printed on it (tests/cardkit.py)
MINOR = "佐藤\u3000翔太"  # the minor's card (tests/benefits/conftest.py)


def _post(client, path, body=None):
    r = client.post(API + path, json.dumps(body or {}), content_type="application/json")
    return r.status_code, r.json() if r.content else {}


def test_the_verified_name_is_signed_stored_and_printed_when_the_desk_sends_none(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    verify_basic_four(desk, c)
    p = prepare(desk, **apply_fields())
    assert p.fields["resident_name"] == CARD_C
    tx = desk_services.build_transaction(Visit.objects.get())
    assert tx["procedures"][0]["resident_name"] == CARD_C  # what the card signs
    data = receipts.receipt_data(commit(desk, c))
    assert data.resident_name == CARD_C


def test_another_name_than_the_verified_one_is_refused_and_nothing_stored(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)
    err = refused("resident_name_differs", prepare, desk, **apply_fields(resident_name="鈴木 一郎"))
    assert "カードのお名前" in err.message_ja
    assert "differs from the name on the card" in err.message_en
    assert not Procedure.objects.filter(visit=visit).exists()
    # The card's own name sent back as it is (the desk page's hidden field) is accepted.
    p = prepare(desk, **apply_fields(resident_name=f" {CARD_C} "))
    assert p.fields["resident_name"] == CARD_C


def test_without_a_verified_read_a_procedure_carries_no_name_and_refuses_a_sent_one(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    refused("resident_name_unread", prepare, desk, **apply_fields(resident_name=CARD_C))
    assert not Procedure.objects.filter(visit=visit).exists()
    p = prepare(desk, **apply_fields())
    assert p.fields["resident_name"] == ""
    # The receipt then names the resident by the kana they confirmed.
    assert receipts.receipt_data(commit(desk, c)).resident_name == "ヤマダ タロウ（フリガナ）"


def test_the_verified_name_is_dropped_when_the_visit_ends(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    verify_basic_four(desk, c)
    assert Visit.objects.get(pk=visit.pk).card_name == CARD_C
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    ended = Visit.objects.get(pk=visit.pk)
    assert (ended.card_name, ended.card_birth_date, ended.card_sex) == ("", None, "")


def test_the_api_fills_the_verified_name_and_refuses_another_in_english(
    trusted,
    staff_client,  # noqa: F811
):
    c = trusted.card("C")
    start(staff_client, c)
    body = {"kind": "point_application", "fields": apply_fields(resident_name=CARD_C)}
    status, answer = _post(staff_client, "/current/procedures", body)
    assert (status, answer["code"]) == (400, "resident_name_unread"), answer
    assert "no card was read in this visit" in answer["message"]
    status, answer = _post(staff_client, "/current/basic-four", cardkit.basic_four_files(c))
    assert (status, answer) == (200, {"name": CARD_C, "verified": True})
    body = {"kind": "point_application", "fields": apply_fields(resident_name="鈴木 一郎")}
    status, answer = _post(staff_client, "/current/procedures", body)
    assert (status, answer["code"]) == (400, "resident_name_differs"), answer
    assert "differs from the name on the card" in answer["message"]
    assert answer["message_ja"]
    assert not Procedure.objects.exists()
    status, answer = _post(
        staff_client, "/current/procedures", {"kind": "point_application", "fields": apply_fields()}
    )
    assert status == 200, answer
    assert Procedure.objects.get().fields["resident_name"] == CARD_C


def test_the_desk_page_shows_the_verified_name_and_refuses_a_tampered_one_in_japanese(
    trusted,
    staff_client,  # noqa: F811
):
    c = trusted.card("C")
    visit = start(staff_client, c)
    page = staff_client.get("/desk/visit/").content.decode()
    assert "（カードから氏名を読み取っていません）" in page
    # The page's own POST of a name is gone: it no longer decides anything.
    r = staff_client.post(
        "/desk/visit/resident/", json.dumps({"name": "鈴木 一郎"}), content_type="application/json"
    )
    assert r.status_code == 404
    assert _post(staff_client, "/current/basic-four", cardkit.basic_four_files(c))[0] == 200
    assert f">{CARD_C}</strong>" in staff_client.get("/desk/visit/").content.decode()
    url = "/desk/visit/procedures/point_application/"
    form = staff_client.get(url).content.decode()
    assert f'name="resident_name" value="{CARD_C}"' in form
    form_fields = apply_fields(programme="mynapoint-2")
    shown = {"visit": visit.reference, "resident_name": "鈴木 一郎"}
    r = staff_client.post(url, form_fields | shown)
    assert r.status_code == 400
    assert "送られたご本人のお名前が、この来庁で読み取ったカードのお名前と違います" in (
        r.content.decode()
    )
    assert not Procedure.objects.exists()
    r = staff_client.post(url, form_fields | shown | {"resident_name": CARD_C})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Procedure.objects.get().fields["resident_name"] == CARD_C


def test_the_representatives_card_never_names_the_resident(trusted, desk, minor_card):
    """The legal representative's flow: the resident's (the minor's) card is read before the
    handover; the representative's own card cannot be read as the basic four after it, so the
    signed name stays the minor's, and the representative's name is not taken as theirs."""
    c = trusted.card("C")
    visit = start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    _representative(desk, c, relationship="parent", kana="ヤマダ タロウ", kana_confirmed=True)
    refused("basic_four_after_handover", verify_basic_four, desk, c)
    assert Visit.objects.get(pk=visit.pk).card_name == MINOR
    refused(
        "resident_name_differs",
        prepare,
        desk,
        **apply_fields(kana=MINOR_KANA, resident_name=CARD_C, **EXCEPTION),
    )
    p = prepare(desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    assert p.fields["resident_name"] == MINOR
    completion = commit_two_cards(desk, minor_card, c)
    assert receipts.receipt_data(completion).resident_name == MINOR


@pytest.mark.parametrize(
    "name", ["田山\u202e花子", "１２３４ ５６７８ ９０１２"], ids=["bidi-override", "long-number"]
)
def test_a_card_name_that_cannot_be_shown_or_holds_a_number_is_not_kept(
    trusted, desk, pki, tmp_path, name
):
    """The checks the desk's own name post made (side doors round 8) now guard the verified
    read: a name every procedure would sign and print is refused, nothing kept."""
    from datetime import date

    from madoguchi.card.virtual import issue_card

    card = issue_card(
        pki.ca,
        name=name,
        address="大阪府デモ市堺区南瓦町３番１号",
        birth=date(1990, 1, 15),
        sex="1",
        pin=cardkit.PIN,
        path=tmp_path / "odd.card",
    )
    visit = start_visit(desk, card)
    refused("basic_four_invalid", verify_basic_four, desk, card)
    kept = Visit.objects.get(pk=visit.pk)
    assert (kept.card_name, kept.card_birth_date) == ("", None)
