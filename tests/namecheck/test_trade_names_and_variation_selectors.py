"""Side doors, round 22 (probe G, the forty-fourth session's fix): a sole proprietor's account
with the trade name first, which side of a pair holds the words the other lacks, and variant
kanji written with a variation selector (docs/name-check.md)."""

import pytest

from madoguchi.namecheck import Outcome, Reason, check, check_batch, normalise
from madoguchi.namecheck.reasons import INSURED, reason_text, resident_reason_text

C, N = Outcome.CLOSE, Outcome.NO_MATCH

CASES = [
    # the trade name (屋号) first, then the proprietor's whole name: close, shown; it was
    # blocked as DIFFERENT (「別の方の口座の可能性があります」)
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ﾀﾛｳ", C, Reason.NAME_PART_ADDED),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾞｲﾋﾖｳ ﾔﾏﾀﾞ ﾀﾛｳ", C, Reason.NAME_PART_ADDED),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ(ﾔﾏﾀﾞ ﾀﾛｳ)", C, Reason.NAME_PART_ADDED),
    ("やまだ たろう", "ﾊﾅﾔ ﾔﾏﾀﾞ ﾀﾛｳ ﾃﾝｼﾕ", C, Reason.NAME_PART_ADDED),
    # the trade name after the name, a former family name in brackets, ジュニア: the account's
    # name is the longer, so it was never "a long name shortened" (NAME_PART_OMITTED said so)
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ﾔﾏﾀﾞｼﾖｳﾃﾝ", C, Reason.NAME_PART_ADDED),
    ("タナカ ハナコ", "ﾀﾅｶ ﾊﾅｺ (ｽｽﾞｷ)", C, Reason.NAME_PART_ADDED),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ｼﾞﾕﾆｱ", C, Reason.NAME_PART_ADDED),
    # the resident's name the longer: the account's may be it shortened, as before
    ("SMITH JOHN MICHAEL", "SMITH JOHN", C, Reason.NAME_PART_OMITTED),
    ("ヤマダ タロウ ジュニア", "ﾔﾏﾀﾞ ﾀﾛｳ", C, Reason.NAME_PART_OMITTED),
    # not the resident's whole name, in its order, as words of its own: another person's
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ｼﾞﾛｳ", N, Reason.DIFFERENT),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾛｳ ﾔﾏﾀﾞ", N, Reason.DIFFERENT),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ﾀﾞｲﾋﾖｳ ﾀﾛｳ", N, Reason.DIFFERENT),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞﾀﾛｳ", N, Reason.DIFFERENT),
    # one word is no whole name to find inside another's
    ("タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾛｳ", N, Reason.FAMILY_NAME_DIFFERS),
    # a company's account whose representative is the resident is the company's, not theirs
    ("ヤマダ タロウ", "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾞｲﾋﾖｳ ﾔﾏﾀﾞ ﾀﾛｳ", N, Reason.LEGAL_ENTITY),
    # a kanji written with a variation selector (an ideographic variation sequence, U+E0100 …,
    # or a standardized one, U+FE00 …) is a variant of the kanji without it or with another;
    # it was FAMILY_NAME_DIFFERS (「旧姓のままの口座、または別人」)
    ("葛\U000e0100西 太郎", "葛西 太郎", C, Reason.VARIANT_KANJI),
    ("葛\U000e0100西 太郎", "葛\U000e0101西 太郎", C, Reason.VARIANT_KANJI),
    ("葛西 太郎", "葛\U000e0101西 太郎", C, Reason.VARIANT_KANJI),
    ("髙\U000e0100橋 花子", "高橋 花子", C, Reason.VARIANT_KANJI),
    ("塚\ufe00本 太郎", "塚本 太郎", C, Reason.VARIANT_KANJI),
    ("塚\ufe00本 太郎", "\ufa10本 太郎", C, Reason.VARIANT_KANJI),
    ("辻\U000e0101 太郎", "辻 太郎", C, Reason.VARIANT_KANJI),
    # the same selector on both sides is the same character
    ("葛\U000e0100西 太郎", "葛\U000e0100西 太郎", Outcome.MATCH, Reason.EXACT),
    # a selector does not make another kanji a variant
    ("葛\U000e0100西 太郎", "葛東 太郎", N, Reason.FAMILY_NAME_DIFFERS),
]


@pytest.mark.parametrize(("resident", "account", "outcome", "reason"), CASES)
def test_outcome_and_reason(resident, account, outcome, reason):
    result = check(resident, account)
    assert (result.outcome, result.reason) == (outcome, reason), result
    shown = account.strip() if outcome is C else None
    assert result.account_display == shown
    batch = check_batch([resident, "ヤマダ タロウ"], [account, "ﾔﾏﾀﾞ ﾀﾛｳ"])
    assert batch.result(0) == result


def test_which_side_has_the_extra_words_is_what_is_said():
    added = check("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ﾀﾛｳ")
    assert added.reason_text("ja") == (
        "口座名義に、ご本人のお名前にない部分（屋号、かっこ書きの旧姓、ミドルネームなど）があります。"
        "口座名義を本人に確認してください。"
    )
    assert "trade name" in added.reason_text("en")
    for lang in ("ja", "en"):
        assert "省略" not in added.reason_text(lang)
        assert "shortened" not in added.reason_text(lang)
    # The resident's name the longer keeps the sentence that the account may be it shortened.
    omitted = check("ヤマダ タロウ ジュニア", "ﾔﾏﾀﾞ ﾀﾛｳ")
    assert "長いお名前を省略した口座名義" in omitted.reason_text("ja")
    assert "shortened" in omitted.reason_text("en")


def test_the_insurers_record_and_the_residents_page_have_their_own_words():
    ja = reason_text(Reason.NAME_PART_ADDED, "ja", INSURED)
    en = reason_text(Reason.NAME_PART_ADDED, "en", INSURED)
    assert "口座" not in ja, ja
    assert "保険者の記録" in ja, ja
    assert "account" not in en, en
    assert "insurer's record" in en, en
    assert "屋号" not in ja  # an insurer's record has no trade name
    mine = resident_reason_text(Reason.NAME_PART_ADDED, "ja")
    assert "あなたのお名前" in mine
    assert "確認してください" not in mine
    assert "your name" in resident_reason_text(Reason.NAME_PART_ADDED, "en")


def test_the_trade_name_is_looked_for_in_the_accounts_name_only():
    """The resident's reading is a person's: the account's whole name inside it after another
    word is not a trade name (the family name left out: another person's, as before)."""
    assert check("ヤマダシヨウテン ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ").outcome is N
    assert check("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダシヨウテン ヤマダ タロウ").outcome is C
    left_out = check("スミス ジョン マイケル", "ｼﾞﾖﾝ ﾏｲｹﾙ")  # close by its score, as before
    assert left_out.reason is Reason.MINOR_TYPO


def test_a_variation_selector_stays_with_its_kanji_and_goes_elsewhere():
    assert normalise("葛\U000e0100西 太郎") == "葛\U000e0100西 太郎"
    assert normalise("塚\ufe00本") == "塚\ufe00本"
    # after kana, Latin letters or nothing it selects nothing (an emoji's VS16 copied along)
    assert normalise("ﾔﾏﾀﾞ\ufe0f ﾀﾛｳ\U000e0100") == "ヤマダ タロウ"
    assert check("ヤマダ\ufe0f タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ").outcome is Outcome.MATCH
    # a second selector after a kanji's selects nothing either
    assert normalise("葛\U000e0100\U000e0101西") == "葛\U000e0100西"
    # left alone by a legal form taken away
    assert normalise("株式会社\ufe00ヤマダ") == "ヤマダ"
    # 一 written with a selector is the kanji, not an IME's ー
    assert normalise("ア一\ufe00イ") == "ア一\ufe00イ"
    assert normalise("ア一イ") == "アーイ"
