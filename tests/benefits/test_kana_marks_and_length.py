"""The kana typed at the desk: marks with no letter (ー, ・, （）, －, ゛, a zero-width space) are
no kana, refused as an empty one; more than 100 characters are refused, never cut.

Marks only went to the name check, which drops every mark and compared nothing: refused as a
no-match of the account's name (「来庁者のフリガナが入力されていない…」) with a NAME_CHECK
incident in the city's report. The API cut a longer kana to its first 100 characters, then
checked, signed and stored the cut name, another name than the one the resident confirmed
(the form refuses more than 100)."""

import json

import pytest
from django.utils import translation

from madoguchi.benefits.models import VisitRepresentative
from madoguchi.benefits.services.names import kana_refusal
from madoguchi.desk.models import Procedure
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit
from tests.benefits.test_race_and_representative import _representative
from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("providers", "systems")

MARKS = ["ー", "・", "（）", "－", "゛", "\u200b", "ー・ー", "ｰ ･"]


def _nothing_stored():
    assert not Procedure.objects.exists()
    assert not Incident.objects.exists()


@pytest.mark.parametrize("typed", MARKS)
def test_a_kana_of_marks_only_is_refused_as_no_kana(trusted, desk, typed):
    start_visit(desk, trusted.card("C"))
    err = refused("resident_kana_required", prepare, desk, **apply_fields(kana=typed))
    assert err.field == "resident_kana"
    _nothing_stored()


def test_a_kana_of_marks_only_is_no_kana_for_a_bank_or_an_insurance_either(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refused("resident_kana_required", prepare, desk, kind="public_fund_account",
            bank_code="0990", branch_code="001", account_type="ordinary",
            account_number="1234567", resident_kana="・", resident_kana_confirmed=True)  # fmt: skip
    refused("resident_kana_required", prepare, desk, kind="health_insurance_use",
            insurer_number="06139992", insured_symbol="SYM-7731", insured_number="88120045",
            branch="01", resident_birth_date="1990-01-15", resident_sex="1",
            resident_kana="ー", resident_kana_confirmed=True)  # fmt: skip
    _nothing_stored()


def test_a_kana_of_marks_only_is_not_linked_to_an_account_without_a_name(trusted, desk):
    """The provider gives no name for this account: confirmed as close, the marks were signed
    as the resident's kana beside an account whose holder nobody saw."""
    start_visit(desk, trusted.card("C"))
    fields = apply_fields(psid="7010000000000006", code="2468", kana="・", confirm_close_match=True)
    refused("resident_kana_required", prepare, desk, **fields)
    _nothing_stored()


def test_the_api_refuses_a_kana_of_marks_only_in_english(trusted, staff_client):  # noqa: F811
    start(staff_client, trusted.card("C"))
    body = {"kind": "point_application", "fields": apply_fields(kana="ー")}
    r = staff_client.post(
        "/api/v1/visits/current/procedures", json.dumps(body), content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident_kana_required")
    assert r.json()["message"] == "The resident's kana name is required."
    assert r.json()["message_ja"]
    _nothing_stored()


def test_a_case_comparison_refuses_a_kana_of_marks_only():
    """A case's comparison takes an empty kana as "the registered one"; marks are refused,
    saying so, not compared as a name that is none."""
    assert kana_refusal("") is None
    code, message = kana_refusal("ー・")
    assert code == "no_letters"
    assert "記号" in str(message)
    with translation.override("en"):
        assert "no letters" in str(message)
    assert kana_refusal("ヤマダ ー") is None


LONG = "ヤマダ タロウ" + "\u3000" * 100 + "ジロウ"


def test_the_api_refuses_a_kana_longer_than_100_characters(trusted, staff_client):  # noqa: F811
    start(staff_client, trusted.card("C"))
    body = {"kind": "point_application", "fields": apply_fields(kana=LONG)}
    r = staff_client.post(
        "/api/v1/visits/current/procedures", json.dumps(body), content_type="application/json"
    )
    assert (r.status_code, r.json()["code"]) == (400, "resident_kana_too_long"), r.json()
    assert "110 characters; at most 100" in r.json()["message"]
    assert "110" in r.json()["message_ja"]
    _nothing_stored()


def test_a_kana_of_100_characters_is_taken_whole(trusted, desk):
    kana = "ヤマダ" + " " * 94 + "タロウ"
    assert len(kana) == 100
    start_visit(desk, trusted.card("C"))
    p = prepare(desk, **apply_fields(kana=kana))
    assert p.fields["resident_kana"] == kana
    assert p.fields["name_outcome"] == "match"


@pytest.mark.usefixtures("support_keys")
@pytest.mark.parametrize(
    ("kana", "code"),
    [("・", "representative_kana_required"), (LONG, "representative_kana_too_long")],
    ids=["marks-only", "110-characters"],
)
def test_the_representatives_kana_is_refused_alike(trusted, desk, minor_card, kana, code):
    start_visit(desk, minor_card)
    err = refused(
        code,
        _representative,
        desk,
        trusted.card("C"),
        relationship="parent",
        kana=kana,
        kana_confirmed=True,
    )
    assert err.message_ja
    assert not VisitRepresentative.objects.exists()
