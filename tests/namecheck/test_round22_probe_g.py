"""Side doors, round 22 (probe G): real-world names the name check still reads wrongly, and the
sentences staff are shown for them."""

import pytest

from madoguchi.namecheck import Outcome, Reason, check, check_batch

# A sole proprietor's account (屋号付き口座) as Zengin data usually writes it: the trade name
# first, then the proprietor's name (often with ﾀﾞｲﾋﾖｳ). The same words in the other order
# (the name first, then the trade name) are close (NAME_PART_OMITTED, shown and confirmed); the
# reference (name-check.md, "UK Confirmation of Payee") counts "X trading as Y" as close, never
# as another person's account.
TRADE_NAME_FIRST = [
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾞｲﾋﾖｳ ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞｼﾖｳﾃﾝ(ﾔﾏﾀﾞ ﾀﾛｳ)"),
]


@pytest.mark.parametrize(("resident", "account"), TRADE_NAME_FIRST)
def test_a_trade_name_before_the_residents_own_name_is_not_another_persons_account(
    resident, account
):
    # The same two parts in the other order are close: the order must not decide between
    # "confirm with the resident" and "blocked: the account may be someone else's".
    assert check(resident, "ﾔﾏﾀﾞ ﾀﾛｳ ﾔﾏﾀﾞｼﾖｳﾃﾝ").outcome is Outcome.CLOSE
    result = check(resident, account)
    assert result.outcome is Outcome.CLOSE, (result.outcome, result.reason, result.score)
    assert result.reason is not Reason.DIFFERENT
    assert result.account_display == account
    batch = check_batch([resident], [account])
    assert batch.outcome(0) is Outcome.CLOSE


# The account's name holds MORE than the resident's (a trade name after the name, a former
# family name in brackets, "Jr."): NAME_PART_OMITTED's sentence tells staff the account "may
# hold a long name shortened", which cannot be so when the account is the longer name.
ACCOUNT_LONGER = [
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ﾔﾏﾀﾞｼﾖｳﾃﾝ"),
    ("タナカ ハナコ", "ﾀﾅｶ ﾊﾅｺ (ｽｽﾞｷ)"),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ｼﾞﾕﾆｱ"),
]


@pytest.mark.parametrize(("resident", "account"), ACCOUNT_LONGER)
def test_an_account_name_longer_than_the_residents_is_not_said_to_be_shortened(resident, account):
    result = check(resident, account)
    assert result.outcome is Outcome.CLOSE
    ja = result.reason_text("ja")
    en = result.reason_text("en")
    assert "省略した口座名義" not in ja, ja
    assert "shortened" not in en, en


def test_a_variant_written_with_a_variation_selector_is_a_variant_kanji_not_another_family_name():
    # 葛󠄀 (葛 U+845B + VS17 U+E0100), as the family register's character is written in Unicode
    # (IVS; MJ 文字): the same family name's glyph, a variant kanji. The module says 角's variants
    # "are written with variation selectors"; docs/name-check.md: a difference in variant kanji
    # alone gives VARIANT_KANJI, never FAMILY_NAME_DIFFERS's 「旧姓のままの口座、または別人」.
    result = check("葛\U000e0100西 太郎", "葛西 太郎")
    assert result.reason is Reason.VARIANT_KANJI, (result.outcome, result.reason, result.score)
    assert result.outcome is Outcome.CLOSE
    two_selectors = check("葛\U000e0100西 太郎", "葛\U000e0101西 太郎")
    assert two_selectors.reason is Reason.VARIANT_KANJI, (two_selectors.reason,)
