"""A name (or reference) from a provider, bank or insurer that our records cannot keep — a NUL
or another control character, more than 100 characters — is refused where the answer is read,
at prepare, as the outside system's fault, saying which value and why (Japanese at the desk,
English in the API with `message_ja`); nothing compared, signed or stored. It was a 500: a NUL
at prepare (jsonb holds none), a 101st character at the completion, after the resident signed
(`account_holder_kana` is 100 long)."""

import base64
import json

import pytest

from madoguchi.benefits.models import (
    HealthInsuranceRegistration,
    PaymentLink,
    PublicFundAccount,
)
from madoguchi.desk.models import Procedure
from madoguchi.incidents.models import Incident
from tests import cardkit, checklistkit
from tests.benefits.conftest import ORIGIN, apply_fields, commit, prepare, refused, start_visit
from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("providers", "systems")

API = "/api/v1/visits"
PSID = ("sim-pay", "7010000000000001")  # ﾔﾏﾀﾞ ﾀﾛｳ, card C's
BANK_ACCOUNT = ("0990", "001", "ordinary", "1234567")  # ﾔﾏﾀﾞ ﾀﾛｳ
INSURANCE = ("06139992", "SYM-7731", "88120045", "01")  # ﾔﾏﾀﾞ ﾀﾛｳ, 山田 太郎
ODD = {
    "nul": ("ﾔﾏﾀﾞ ﾀﾛｳ\x00", "制御文字", "control character"),
    "line-break": ("ﾔﾏﾀﾞ\nﾀﾛｳ", "制御文字", "control character"),
    "101-characters": ("ﾔﾏﾀﾞ ﾀﾛｳ" + " " * 91 + "ｻﾏ", "101文字", "101 characters"),
    "long-close": ("ﾔﾏﾀﾞ ﾀﾛｳ" + "ｰ" * 120, "128文字", "128 characters"),
}


def _post(client, path, body=None):
    r = client.post(API + path, json.dumps(body or {}), content_type="application/json")
    return r.status_code, r.json()


def _nothing_stored():
    assert not Procedure.objects.exists()
    assert not PaymentLink.objects.exists()
    assert not PublicFundAccount.objects.exists()
    assert not HealthInsuranceRegistration.objects.exists()
    incident = Incident.objects.get()
    assert (incident.kind, incident.reason_code) == ("outside_failure", "outside_value_unusable")


@pytest.mark.parametrize("odd", ODD, ids=list(ODD))
def test_an_odd_holder_name_is_refused_at_prepare_through_the_api(
    monkeypatch,
    trusted,
    staff_client,  # noqa: F811
    sims,
    odd,
):
    holder, _ja, en = ODD[odd]
    monkeypatch.setitem(sims.provider.server.app.by_id[PSID], "holder_name_kana", holder)
    start(staff_client, trusted.card("C"))
    fields = apply_fields(confirm_close_match=True)
    status, body = _post(
        staff_client, "/current/procedures", {"kind": "point_application", "fields": fields}
    )
    assert (status, body["code"]) == (400, "outside_value_unusable"), body
    assert body["message"].startswith("SimPay sent an account holder's name")
    assert en in body["message"]
    assert "Nothing was linked" in body["message"]
    assert "口座名義" in body["message_ja"]
    _nothing_stored()


@pytest.mark.parametrize("odd", ODD, ids=list(ODD))
def test_an_odd_holder_name_is_refused_at_the_desk_in_japanese(
    monkeypatch, trusted, desk, sims, odd
):
    holder, ja, _en = ODD[odd]
    monkeypatch.setitem(sims.provider.server.app.by_id[PSID], "holder_name_kana", holder)
    start_visit(desk, trusted.card("C"))
    err = refused("outside_value_unusable", prepare, desk, **apply_fields(confirm_close_match=True))
    assert err.message_ja.startswith("シミュレーションペイから届いた口座名義")
    assert ja in err.message_ja
    assert "何も登録していません" in err.message_ja
    _nothing_stored()


def test_a_holder_name_of_100_characters_is_linked(monkeypatch, trusted, staff_client, sims):  # noqa: F811
    """The limit is the column's: a name of 100 characters is checked, signed and stored."""
    holder = "ﾔﾏﾀﾞ ﾀﾛｳ" + " " * 90 + "ｻﾏ"
    assert len(holder) == 100
    monkeypatch.setitem(sims.provider.server.app.by_id[PSID], "holder_name_kana", holder)
    card = trusted.card("C")
    start(staff_client, card)
    fields = apply_fields(confirm_close_match=True)
    status, body = _post(
        staff_client, "/current/procedures", {"kind": "point_application", "fields": fields}
    )
    assert status == 200, body
    checklistkit.tick_before(staff_client.desk)
    status, ch = _post(staff_client, "/current/completion-challenge")
    assert status == 200, ch
    tx = base64.b64decode(ch["transaction"])
    token = cardkit.completion_token(card, ORIGIN, ch["nonce"], tx)
    status, body = _post(staff_client, "/current/complete", {"token": token, "nonce": ch["nonce"]})
    assert status == 200, body
    assert PaymentLink.objects.get().account_holder_kana == holder


@pytest.mark.parametrize(
    ("field", "value", "says_ja", "says_en"),
    [
        (
            "holder_name_kana",
            "ﾔﾏﾀﾞ ﾀﾛｳ\x00",
            "口座名義に制御文字",
            "account holder's name containing",
        ),
        ("holder_name_kana", "ﾔﾏﾀﾞ ﾀﾛｳ" + "ｰ" * 94, "口座名義が102文字", "102 characters"),
    ],
    ids=["nul", "102-characters"],
)
def test_an_odd_name_from_the_bank_is_refused_at_prepare(
    monkeypatch, trusted, desk, sims, field, value, says_ja, says_en
):
    monkeypatch.setitem(sims.bank.server.app.accounts[BANK_ACCOUNT], field, value)
    start_visit(desk, trusted.card("C"))
    err = refused(
        "outside_value_unusable",
        prepare,
        desk,
        kind="public_fund_account",
        bank_code="0990",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        resident_kana="ヤマダ タロウ",
        resident_kana_confirmed=True,
        confirm_close_match=True,
    )
    assert err.message_ja.startswith("金融機関から届いた")
    assert says_ja in err.message_ja
    assert says_en in err.message_en
    _nothing_stored()


def test_a_bank_name_the_records_cannot_keep_is_refused_at_prepare(
    monkeypatch, trusted, desk, sims
):
    monkeypatch.setitem(sims.bank.server.app.banks["0990"], "name", "シミュレーション銀行" * 11)
    start_visit(desk, trusted.card("C"))
    err = refused(
        "outside_value_unusable",
        prepare,
        desk,
        kind="public_fund_account",
        bank_code="0990",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        resident_kana="ヤマダ タロウ",
        resident_kana_confirmed=True,
    )
    assert "金融機関名が110文字" in err.message_ja
    _nothing_stored()


@pytest.mark.parametrize(
    ("field", "value", "says_ja"),
    [
        ("insured_name_kana", "ﾔﾏﾀﾞ ﾀﾛｳ\x00", "被保険者のお名前（カナ）に制御文字"),
        ("insured_name_kana", "ﾔﾏﾀﾞ ﾀﾛｳ" + " " * 99, "被保険者のお名前（カナ）が107文字"),
        ("insured_name", "山田\r\n太郎", "被保険者のお名前に制御文字"),
    ],
    ids=["kana-nul", "kana-107-characters", "name-line-break"],
)
def test_an_odd_name_from_the_insurer_is_refused_at_prepare(
    monkeypatch, trusted, desk, sims, field, value, says_ja
):
    monkeypatch.setitem(sims.insurer.server.app.records[INSURANCE], field, value)
    start_visit(desk, trusted.card("C"))
    keys = dict(
        zip(
            ("insurer_number", "insured_symbol", "insured_number", "branch"), INSURANCE, strict=True
        )
    )
    err = refused(
        "outside_value_unusable",
        prepare,
        desk,
        kind="health_insurance_use",
        **keys,
        resident_birth_date="1990-01-15",
        resident_sex="1",
        resident_kana="ヤマダ タロウ",
        resident_kana_confirmed=True,
        confirm_close_match=True,
    )
    assert err.message_ja.startswith("医療保険者から届いた")
    assert says_ja in err.message_ja
    _nothing_stored()


def test_a_usable_name_still_links(trusted, desk):
    """The check refuses only what cannot be kept: the seeded names link as before."""
    card = trusted.card("C")
    start_visit(desk, card)
    prepare(desk, **apply_fields())
    commit(desk, card)
    assert PaymentLink.objects.get().account_holder_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
