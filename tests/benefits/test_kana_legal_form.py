"""A legal form (株式会社, (株), ｶ) …) in a person's kana is refused at the desk. The name check
takes a legal form off both names and matches a company's account only with a name that
carries one too, so a resident's kana typed as 「カ)ヤマダ タロウ」 matched the account of
ヤマダタロウ株式会社, where their own name is refused against it (LEGAL_ENTITY): a company's
account could be linked to a resident's points or public fund (side doors, round 11). The
representative's kana: tests/benefits/test_race_and_representative.py. Kanji in the kana are
refused by the same test (tests/benefits/test_kana_kanji.py says why)."""

import pytest

from madoguchi.benefits.models import PaymentLink
from madoguchi.desk.models import Procedure
from madoguchi.namecheck import Outcome, Reason, check
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit

LEGAL_FORMS = (
    "カ)ヤマダ タロウ",
    "ヤマダタロウ カブシキガイシャ",
    "(株)ヤマダ タロウ",
    "ﾔﾏﾀﾞ ﾀﾛｳ(ﾕ",
)
COMPANY_ACCOUNT = "ｶ)ﾔﾏﾀﾞ ﾀﾛｳ"


def test_the_name_check_matches_a_company_only_with_a_legal_form():
    """Why the desk refuses it: the library, on purpose, compares two companies' names."""
    assert check("ヤマダ タロウ", COMPANY_ACCOUNT).reason == Reason.LEGAL_ENTITY
    for kana in LEGAL_FORMS[:3]:
        assert check(kana, COMPANY_ACCOUNT).outcome == Outcome.MATCH, kana


# Kanji in the kana (tests/benefits/test_kana_kanji.py): 夕 is the kanji, not タ.
# Letters no account's name holds: compared as nothing, every account was close, as for kanji.
OTHER_KANA = ("김철수", "ИВАНОВ ИВАН", "MÜLLER ANNA", "ヤマダ ★")
KANJI_KANA = ("山田 太郎", "ヤマダ 太郎", "佐々木 ハナコ", "夕ロウ ヤマダ")


@pytest.mark.usefixtures("providers", "systems")
@pytest.mark.parametrize(
    ("typed", "code", "ja", "en"),
    [
        (LEGAL_FORMS, "resident_kana_legal_form", "法人の種類", "a company's legal form"),
        (KANJI_KANA, "resident_kana_kanji", "フリガナに漢字", "kanji"),
        (OTHER_KANA, "resident_kana_characters", "口座の名義に使えない文字", "characters"),
    ],
    ids=["legal-form", "kanji", "other-letters"],
)
def test_a_kana_the_name_check_would_misread_is_refused_before_any_look_up(
    trusted, desk, typed, code, ja, en
):
    visit = start_visit(desk, trusted.card("C"))
    for kana in typed:
        err = refused(code, prepare, desk, **apply_fields(kana=kana))
        assert ja in err.message_ja
        assert err.message_en.startswith(f"The kana name contains {en}")
    assert not Procedure.objects.filter(visit=visit).exists()
    assert not PaymentLink.objects.exists()
    # A person's name that only sounds like a legal form (カ, ダイガク, ノウ), in katakana,
    # hiragana or half-width kana, is the name check's, as before.
    for kana in ("ヤマダ タロウ", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"):
        p = prepare(desk, **apply_fields(kana=kana))
        assert p.fields["name_outcome"] == "match", kana
        p.delete()
