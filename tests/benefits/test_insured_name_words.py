"""A health insurance has no account: its name check compares the insured person's name on the
insurer's record. Every sentence that check can produce said 口座名義 or "account" (the desk
page's refusal, the API's English, the incident, the daily report, the receipt), words for a
payment service's or a bank's record; each now says what was compared. Accounts keep theirs."""

import pytest
from django.utils import timezone, translation

from madoguchi.benefits import receipts
from madoguchi.incidents import text
from madoguchi.incidents.models import Incident
from madoguchi.outside import InsuredPerson
from madoguchi.reports import exports, services
from tests.benefits.conftest import apply_fields, commit, prepare, refused, start_visit
from tests.benefits.test_insured_person import CARD_C, HIS

pytestmark = pytest.mark.usefixtures("providers", "systems")

ACCOUNT_WORDS_JA = ("口座",)
ACCOUNT_WORDS_EN = ("account",)


def _says_no_account(refusal):
    assert not [w for w in ACCOUNT_WORDS_JA if w in refusal.message_ja], refusal.message_ja
    assert not [w for w in ACCOUNT_WORDS_EN if w in refusal.message_en.lower()], refusal.message_en
    assert "被保険者のお名前" in refusal.message_ja
    assert "insurer's record" in refusal.message_en


def test_the_insured_persons_no_match_says_what_was_compared(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refusal = refused("name_no_match", prepare, desk, kind="health_insurance_use",
                      **HIS, **{**CARD_C, "resident_kana": "スズキ イチロウ"})  # fmt: skip
    _says_no_account(refusal)
    assert "登録できません" in refusal.message_ja
    assert "nothing was registered" in refusal.message_en

    incident = Incident.objects.get(kind="name_check")
    with translation.override("ja"):
        ja = text.incident_text(incident)
    with translation.override("en"):
        en = text.incident_text(incident)
    assert "口座" not in ja, ja
    assert "被保険者のお名前" in ja, ja
    assert "account" not in en, en
    assert "insurer's record" in en, en
    assert "account" not in incident.summary, incident.summary

    # The daily report's refusals by reason: said, and counted, apart from an account's.
    refused("name_no_match", prepare, desk, **apply_fields(kana="スズキ イチロウ"))
    with translation.override("ja"):
        content = services.build_daily(desk.terminal, timezone.localdate())
        rows = dict(exports.refusal_rows(content))
        document = exports.render_document(content)
    insured = [label for label in rows if "被保険者" in label]
    assert len(insured) == 1, rows
    assert "口座" not in insured[0], rows
    assert rows[insured[0]] == 1
    assert [label for label in rows if "口座" in label], rows  # the account's keeps its words
    assert insured[0] in document


@pytest.mark.parametrize(
    ("kana", "record"),
    [("ヤマダ ジロウ", None), ("ヤマダ タロウ", "")],
    ids=["close", "no-name-on-the-record"],
)
def test_the_insured_persons_close_match_says_what_was_compared(
    trusted, desk, systems, kana, record
):
    if record is not None:
        real = systems.insurer.lookup_insured

        def nameless(*keys):
            person = real(*keys)
            return InsuredPerson(person.name, record, person.birth_date, person.sex, "active")

        systems.insurer.lookup_insured = nameless
    start_visit(desk, trusted.card("C"))
    refusal = refused("name_close_unconfirmed", prepare, desk, kind="health_insurance_use",
                      **HIS, **{**CARD_C, "resident_kana": kana})  # fmt: skip
    _says_no_account(refusal)


def test_the_receipt_names_the_insurance_not_an_account(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HIS, **CARD_C)
    html = receipts.receipt_html(commit(desk, c))
    assert "口座" not in html
    assert "被保険者のお名前（フリガナ）" in html


def test_an_accounts_no_match_keeps_its_words(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refusal = refused("name_no_match", prepare, desk, **apply_fields(kana="スズキ イチロウ"))
    assert "口座名義" in refusal.message_ja
    assert "account holder's name" in refusal.message_en
