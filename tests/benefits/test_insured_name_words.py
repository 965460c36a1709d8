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
    if record == "":  # no name on the record: none is said not to match
        assert "一致しません" not in refusal.message_ja
        assert refusal.message_ja.startswith("保険者の記録に被保険者のお名前がないため")


def test_the_receipt_names_the_insurance_not_an_account(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HIS, **CARD_C)
    completion = commit(desk, c)
    html = receipts.receipt_html(completion)
    assert "口座" not in html
    assert "被保険者のお名前（フリガナ）" in html
    english = receipts.receipt_html(completion, "en")
    assert "Health-insurance use registration" in english
    assert "Insurer number, insured number" in english
    assert "Insured person&#x27;s name (kana)" in english
    assert "Registering" in english  # the insurer has not answered yet
    assert "account" not in english.lower()


def test_an_accounts_no_match_keeps_its_words(trusted, desk):
    start_visit(desk, trusted.card("C"))
    refusal = refused("name_no_match", prepare, desk, **apply_fields(kana="スズキ イチロウ"))
    assert "口座名義" in refusal.message_ja
    assert "account holder's name" in refusal.message_en


def test_the_residents_page_shows_the_insured_name_check_they_signed(trusted, desk, settings):
    """A resident's own page showed an insurance registration's insurer, number, state and the
    insured name the insurer registered, but not the reading of their name it was checked
    against nor the check's outcome (the page's payment links and accounts show both): a
    registration under someone else's reading, confirmed as close at the desk, read as theirs.
    It shows both now, from what the resident signed."""
    from django.test import Client

    from tests.residents.test_resident_page import ME_ORIGIN, sign_in

    settings.RESIDENT_ORIGIN = ME_ORIGIN
    c = trusted.card("C")
    start_visit(desk, c)
    typed = {**CARD_C, "resident_kana": "ヤマダ タロー", "confirm_close_match": True}
    prepare(desk, kind="health_insurance_use", **HIS, **typed)
    commit(desk, c)
    client = Client()
    sign_in(client, c)
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    hi = page[page.index('id="h-hi"') : page.index('id="h-grants"')]
    assert "照合に使ったあなたのお名前（フリガナ）</dt>" in hi
    assert '<dd lang="ja" data-testid="compared-kana">ヤマダ タロー</dd>' in hi
    check = hi.split('data-testid="insured-name-check">', 1)[1].split("</dd>", 1)[0]
    # In the resident's words: the desk's 「類似（要確認）」 read as something still asked of them.
    assert check == "類似（完全には一致しません） 窓口で被保険者のお名前をご本人が確認しました。"
    assert "口座" not in hi
    page = client.get("/me/records/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    hi = page[page.index('id="h-hi"') : page.index('id="h-grants"')]
    check = hi.split('data-testid="insured-name-check">', 1)[1].split("</dd>", 1)[0]
    assert (
        check == "Close (not identical) You confirmed the insured person&#x27;s name at the desk."
    )
    assert "Insured person's name check</dt>" in hi
