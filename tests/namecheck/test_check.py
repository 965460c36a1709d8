"""Outcomes and reason codes of the name check."""

import dataclasses

import pytest

from madoguchi.namecheck import (
    CLOSE_THRESHOLD,
    MATCH_THRESHOLD,
    OUTCOME_TEXTS,
    REASON_TEXTS,
    NameCheckResult,
    Outcome,
    Reason,
    check,
    check_many,
)

M, C, N, U = Outcome.MATCH, Outcome.CLOSE, Outcome.NO_MATCH, Outcome.UNAVAILABLE

CASES = [
    # real-looking pairs: resident's kana as typed at the desk, account as the bank holds it
    ("ヤマダ タロウ", "ヤマダ タロウ", M, Reason.EXACT),
    ("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ", M, Reason.EXACT_AFTER_NORMALISATION),
    ("サカイ ハナコ", "ｻｶｲ ﾊﾅｺ", M, Reason.EXACT_AFTER_NORMALISATION),
    ("やまだ　たろう", "ヤマダ タロウ", M, Reason.EXACT_AFTER_NORMALISATION),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ 様", M, Reason.EXACT_AFTER_NORMALISATION),
    ("SMITH JOHN", "SMITH JOHN ｻﾏ", M, Reason.EXACT_AFTER_NORMALISATION),
    ("ジョージ スミス", "ｼﾞﾖ-ｼﾞ ｽﾐｽ", M, Reason.SMALL_KANA_FOLDED),
    ("ジョージ スミス", "ｼﾞﾖｰｼﾞ ｽﾐｽ", M, Reason.SMALL_KANA_FOLDED),
    ("すずき きょうこ", "ｽｽﾞｷ ｷﾖｳｺ", M, Reason.SMALL_KANA_FOLDED),
    ("キュウマ ショウ", "ｷﾕｳﾏ ｼﾖｳ", M, Reason.SMALL_KANA_FOLDED),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞﾀﾛｳ", M, Reason.SEPARATOR_DIFFERS),
    ("やまだたろう", "ﾔﾏﾀﾞ ﾀﾛｳ", M, Reason.SEPARATOR_DIFFERS),
    ("タロウ ヤマダ", "ﾔﾏﾀﾞ ﾀﾛｳ", M, Reason.ORDER_SWAPPED),
    ("タロウ ヤマダ", "ﾔﾏﾀﾞﾀﾛｳ", M, Reason.ORDER_SWAPPED),
    # the same kana as other words (森 貴子 against 森田 佳子), or turned with no space on
    # either side to say where a word ends: shown, never a match (it was SEPARATOR_DIFFERS or
    # ORDER_SWAPPED, a match)
    ("モリ タカコ", "ﾓﾘﾀ ｶｺ", C, Reason.SPLIT_DIFFERS),
    ("タカコ モリ", "ﾓﾘﾀ ｶｺ", C, Reason.SPLIT_DIFFERS),
    ("タロウヤマダ", "ﾔﾏﾀﾞﾀﾛｳ", C, Reason.SPLIT_DIFFERS),
    ("ヤマダタロウ", "ﾛｳﾔﾏﾀﾞﾀ", C, Reason.SPLIT_DIFFERS),
    ("JOHN SMITH", "smith john", M, Reason.ORDER_SWAPPED),
    # a foreign resident's three words given-first, the account's family-first: the family name
    # moves to the other end (the word list reversed, SMITH MICHAEL JOHN, is no order of it);
    # the reversed list was tried instead, and the resident's own account was blocked
    ("ジョン マイケル スミス", "ｽﾐｽ ｼﾞﾖﾝ ﾏｲｹﾙ", M, Reason.ORDER_SWAPPED),
    ("ジョン・マイケル・スミス", "ｽﾐｽ ｼﾞﾖﾝ ﾏｲｹﾙ", M, Reason.ORDER_SWAPPED),
    ("JOHN MICHAEL SMITH", "SMITH JOHN MICHAEL", M, Reason.ORDER_SWAPPED),
    ("マリア アナ ガルシア", "ｶﾞﾙｼｱ ﾏﾘｱ ｱﾅ", M, Reason.ORDER_SWAPPED),
    ("ジョン マイケル スミス", "ｽﾐｽ ﾏｲｹﾙ ｼﾞﾖﾝ", N, Reason.DIFFERENT),
    ("ユウ ケン オオノ", "ｵｰﾉ ﾕｰ ｹﾝ", C, Reason.KANA_SPELLING),
    ("ヴァン アン グエン", "ｸﾞｴﾝ ﾊﾞﾝ ｱﾝ", C, Reason.V_SPELLING),
    # the other middle dots and double hyphens separate a foreign name's words as ・ and ＝ do
    ("ジョン·スミス", "ｽﾐｽ ｼﾞﾖﾝ", M, Reason.ORDER_SWAPPED),
    ("ジョン•スミス", "ｽﾐｽ ｼﾞﾖﾝ", M, Reason.ORDER_SWAPPED),
    ("ジョン゠スミス", "ｽﾐｽ ｼﾞﾖﾝ", M, Reason.ORDER_SWAPPED),
    ("Smith John", "SMITH JOHN", M, Reason.EXACT_AFTER_NORMALISATION),
    # one letter off in the given name: shown and confirmed
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛ", C, Reason.GIVEN_NAME_DIFFERS),
    ("サカイ ハナコ", "ｻｶｲ ﾊﾅｺﾞ", C, Reason.GIVEN_NAME_DIFFERS),
    # brothers differ by one letter: never a match
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ", C, Reason.GIVEN_NAME_DIFFERS),
    # a family member's account: blocked
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾊﾅｺ", N, Reason.GIVEN_NAME_DIFFERS),
    ("サカイ ハナコ", "ｻｶｲ ｹﾝｼﾞ", N, Reason.GIVEN_NAME_DIFFERS),
    ("ヤマダ ハナコ", "ｻﾄｳ ﾊﾅｺ", N, Reason.FAMILY_NAME_DIFFERS),
    ("ワタナベ ハナコ", "ﾜﾀﾅﾍﾞ ﾊﾅｺ", M, Reason.EXACT_AFTER_NORMALISATION),
    ("ワタナベ ハナコ", "ﾜﾀﾅﾍﾞｲ ﾊﾅｺ", C, Reason.FAMILY_NAME_DIFFERS),
    # typo without a recognisable family/given split
    ("ワタナベハナコ", "ﾜﾀﾅﾍﾞﾊﾅｺﾞ", C, Reason.MINOR_TYPO),
    # different people
    ("ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ", N, Reason.DIFFERENT),
    ("サカイ ハナコ", "ｽｽﾞｷ ｲﾁﾛｳ", N, Reason.DIFFERENT),
    ("タナカ ミホ", "ｲﾄｳ ｹﾝ", N, Reason.DIFFERENT),
    # kanji or Latin against kana: cannot be compared by machine
    ("山田 太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", C, Reason.SCRIPT_MISMATCH),
    ("YAMADA TARO", "ﾔﾏﾀﾞ ﾀﾛｳ", C, Reason.SCRIPT_MISMATCH),
    # variant kanji stay distinct
    ("髙橋 一郎", "高橋 一郎", C, Reason.VARIANT_KANJI),
    ("山﨑 花子", "山崎 花子", C, Reason.VARIANT_KANJI),
    ("齋藤 花子", "斉藤 花子", C, Reason.VARIANT_KANJI),
    # so do the CJK compatibility ideographs, which NFKC folded into the unified ones (a match)
    ("塚本 太郎", "\ufa10本 太郎", C, Reason.VARIANT_KANJI),
    ("神田 太郎", "\ufa19田 太郎", C, Reason.VARIANT_KANJI),
    ("京都 花子", "京\ufa26 花子", C, Reason.VARIANT_KANJI),
    ("\ufa10本 太郎", "\ufa7c本 太郎", C, Reason.VARIANT_KANJI),
    ("\ufa10本 太郎", "\ufa10本 太郎", M, Reason.EXACT),
    ("高橋 一郎", "高橋 一郎", M, Reason.EXACT),
    # a company's account for a person
    ("ヤマダ タロウ", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", N, Reason.LEGAL_ENTITY),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ(ﾕ", N, Reason.LEGAL_ENTITY),
    # two companies compare by name once the legal forms are removed
    ("カブシキガイシャ ヤマダショウジ", "ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", M, Reason.SMALL_KANA_FOLDED),
    ("株式会社山田商事", "山田商事(株)", M, Reason.EXACT_AFTER_NORMALISATION),
    # of one legal form: 株式会社ヤマダ and 有限会社ヤマダ are two companies
    ("カブシキガイシャ ヤマダ", "ﾕ)ﾔﾏﾀﾞ", C, Reason.LEGAL_FORM_DIFFERS),
    ("株式会社山田商事", "山田商事(有)", C, Reason.LEGAL_FORM_DIFFERS),
    # no name from the provider
    ("ヤマダ タロウ", None, U, Reason.NAME_UNAVAILABLE),
    ("ヤマダ タロウ", "", U, Reason.NAME_UNAVAILABLE),
    ("ヤマダ タロウ", "\u3000", U, Reason.NAME_UNAVAILABLE),
    # no resident name
    ("", "ﾔﾏﾀﾞ ﾀﾛｳ", N, Reason.RESIDENT_NAME_EMPTY),
    # ヴ written as ブ by a bank that cannot hold ヴ (ヴァン as ﾊﾞﾝ): shown and confirmed, where
    # the part that changed length scored as two kana changed, and ヴァン アン was blocked
    ("ヴァン アン", "ﾊﾞﾝ ｱﾝ", C, Reason.V_SPELLING),
    ("グエン ヴァン", "ｸﾞｴﾝ ﾊﾞﾝ", C, Reason.V_SPELLING),
    ("ヴー タオ", "ﾌﾞｰ ﾀｵ", C, Reason.V_SPELLING),
    ("アン ヴァン", "ﾊﾞﾝ ｱﾝ", C, Reason.V_SPELLING),
    ("ヴィエット", "ﾋﾞｴﾂﾄ", C, Reason.V_SPELLING),
    ("バン アン", "ｳﾞｧﾝ ｱﾝ", C, Reason.V_SPELLING),
    ("ヴァン アン", "ｳﾞｱﾝ ｱﾝ", M, Reason.SMALL_KANA_FOLDED),
    ("ヴァン アン", "ﾊﾞﾝ ﾐﾝ", N, Reason.DIFFERENT),
    # one sound spelled two ways in kana (a long vowel as ー or as its vowel, ヂ/ジ, ヅ/ズ): shown
    # and confirmed, where a spelling in both words scored as another person's and was blocked
    ("オオノ ユウ", "ｵｰﾉ ﾕｰ", C, Reason.KANA_SPELLING),
    ("サトウ ユウコ", "ｻﾄｰ ﾕｰｺ", C, Reason.KANA_SPELLING),
    ("トウキョウ タロウ", "ﾄｰｷﾖｰ ﾀﾛｰ", C, Reason.KANA_SPELLING),
    ("コウノ ケイコ", "ｺｰﾉ ｹｰｺ", C, Reason.KANA_SPELLING),
    ("ツヅキ ミヅホ", "ﾂｽﾞｷ ﾐｽﾞﾎ", C, Reason.KANA_SPELLING),
    ("チヂワ ヨウコ", "ﾁｼﾞﾜ ﾖｰｺ", C, Reason.KANA_SPELLING),
    # ヰ ヱ, which half-width kana cannot hold, as the bank holds them (ｲ ｴ), as ヲ as ｵ
    ("ヤマダ ヱミ", "ﾔﾏﾀﾞ ｴﾐ", C, Reason.KANA_SPELLING),
    ("ヰダ ヱミ", "ｲﾀﾞ ｴﾐ", C, Reason.KANA_SPELLING),
    ("ヰダ ヱミ", "ｲﾀﾞ ｴﾐｺ", N, Reason.DIFFERENT),
    ("ユウ オオノ", "ｵｰﾉ ﾕｰ", C, Reason.KANA_SPELLING),
    # a name close because one part "differs" only in a spelling says so: it read "the family
    # name differs" (サトウ and ｻﾄｰ) and "the given name differs (a family member's account?)"
    ("サトウ ユウコ", "ｻﾄｰ ﾕｳｺ", C, Reason.KANA_SPELLING),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｰ", C, Reason.KANA_SPELLING),
    ("ヤマダ ユウコ", "ﾔﾏﾀﾞ ﾕｰｺ", C, Reason.KANA_SPELLING),
    ("オオタ ハナコ", "ｵｰﾀ ﾊﾅｺ", C, Reason.KANA_SPELLING),
    # a part that differs beyond a spelling keeps its reason
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ", C, Reason.GIVEN_NAME_DIFFERS),
    ("ヤマダ ユウコ", "ﾔﾏﾀﾞ ﾕｰｷ", N, Reason.GIVEN_NAME_DIFFERS),
    ("オオノユウ", "ｵｰﾉ ﾕｰ", C, Reason.KANA_SPELLING),
    # a vowel that is no long vowel's spelling is a different name still
    ("サトウ ユウコ", "ｻﾄｲ ﾕｲｺ", N, Reason.DIFFERENT),
    ("オオノ ユウ", "ｵｵﾉ ﾕｳｺ", C, Reason.GIVEN_NAME_DIFFERS),
    ("アイ ウエ", "ｲｱ ｴｳ", N, Reason.DIFFERENT),
    # a long name held shortened, its middle words left out: shown and confirmed, where the
    # words' length scored it as another person's and SMITH JOHN MICHAEL was blocked
    ("SMITH JOHN MICHAEL", "SMITH JOHN", C, Reason.NAME_PART_OMITTED),
    ("グエン ティ トゥ フオン", "ｸﾞｴﾝ ﾌｵﾝ", C, Reason.NAME_PART_OMITTED),
    # the account's name the longer: words added to it, not a name shortened (round 22, probe G)
    ("グエン フオン", "ｸﾞｴﾝ ﾃｲ ﾄｳ ﾌｵﾝ", C, Reason.NAME_PART_ADDED),
    ("ウィリアムズ アレクサンダー ジョナサン", "ｳｲﾘｱﾑｽﾞ ｱﾚｸｻﾝﾀﾞｰ", C, Reason.NAME_PART_OMITTED),
    # a last word サン or サマ of a kana name is a word of it (Sang, 燦; Samah), not an honorific
    # dropped: グエン ヴァン サン matched the account of ｸﾞｴﾝ ｳﾞｧﾝ, no name shown
    ("グエン ヴァン サン", "ｸﾞｴﾝ ｳﾞｧﾝ", C, Reason.NAME_PART_OMITTED),
    ("ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ ｻﾏ", C, Reason.NAME_PART_ADDED),
    # cut short at a field's length (30 characters here)
    (
        "MONTGOMERY ALEXANDRA ELIZABETH CATHERINE",
        "MONTGOMERY ALEXANDRA ELIZABETH",
        C,
        Reason.NAME_PART_OMITTED,
    ),
    (
        "MONTGOMERY-SMITH ALEXANDRA ELIZABETH CATHERINE",
        "MONTGOMERY-SMITH ALEXANDRA ELI",
        C,
        Reason.NAME_PART_OMITTED,
    ),
    (
        "ウィリアムズ アレクサンダー ジョナサン クリストファー",
        "ｳｲﾘｱﾑｽﾞ ｱﾚｸｻﾝﾀﾞｰ ｼﾞﾖ",
        C,
        Reason.NAME_PART_OMITTED,
    ),
    # not when the first word (the family name) differs, or the words are out of order
    ("SMITH JOHN MICHAEL", "BROWN JOHN", N, Reason.DIFFERENT),
    ("グエン ティ トゥ フオン", "ｸﾞｴﾝ ﾌｵﾝ ﾃｲ", N, Reason.DIFFERENT),
    ("MONTGOMERY ALEXANDRA ELIZABETH CATHERINE", "MONTGOMERY BETH", N, Reason.DIFFERENT),
]


@pytest.mark.parametrize(("resident", "account", "outcome", "reason"), CASES)
def test_outcome_and_reason(resident, account, outcome, reason):
    result = check(resident, account)
    assert (result.outcome, result.reason) == (outcome, reason)


def test_match_gives_no_name_close_shows_the_account_name():
    assert check("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ").account_display is None
    close = check("ヤマダ タロウ", " ﾔﾏﾀﾞ ｼﾞﾛｳ ")
    assert close.outcome is Outcome.CLOSE
    assert close.account_display == "ﾔﾏﾀﾞ ｼﾞﾛｳ"
    assert close.needs_confirmation
    assert not close.blocked
    no = check("ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ")
    assert no.account_display is None
    assert no.blocked
    assert not no.needs_confirmation
    assert check("ヤマダ タロウ", None).needs_confirmation


def test_result_carries_normalised_forms_and_score():
    result = check("ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ")
    assert result.resident_normalised == "ヤマダ タロウ"
    assert result.account_normalised == "ヤマダ ジロウ"
    assert CLOSE_THRESHOLD <= result.score < MATCH_THRESHOLD
    assert check("やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ").score == 100.0
    assert check("ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ").score < CLOSE_THRESHOLD


def test_result_is_immutable():
    result = check("ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ")
    assert isinstance(result, NameCheckResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 100.0  # type: ignore[misc]
    assert result == dataclasses.replace(result)


def test_long_names_match_above_the_match_threshold_only():
    long_name = "ｸﾞﾚｺﾞﾘｰ ｱﾚｸｻﾝﾀﾞｰ ﾏｸｼﾐﾘｱﾝ ｳｨﾘｱﾑｽﾞ"
    typo = long_name.replace("ﾏｸｼﾐﾘｱﾝ", "ﾏｸｼﾐﾘｱ")
    result = check(long_name, typo)
    assert result.score >= MATCH_THRESHOLD
    assert (result.outcome, result.reason) == (Outcome.MATCH, Reason.MINOR_TYPO)


def test_every_outcome_and_reason_has_japanese_and_english_text():
    for outcome in Outcome:
        assert OUTCOME_TEXTS[outcome]["ja"]
        assert OUTCOME_TEXTS[outcome]["en"]
    for reason in Reason:
        assert REASON_TEXTS[reason]["ja"]
        assert REASON_TEXTS[reason]["en"]
    result = check("ヤマダ タロウ", "ｻﾄｳ ﾊﾅｺ")
    assert result.reason_text() == REASON_TEXTS[Reason.DIFFERENT]["ja"]
    assert result.reason_text("en") == REASON_TEXTS[Reason.DIFFERENT]["en"]
    assert result.outcome_text("en") == "No match"


def test_check_many_agrees_with_check_and_keeps_order():
    pairs = [(resident, account) for resident, account, _, _ in CASES] * 3
    results = check_many(pairs)
    assert len(results) == len(pairs)
    assert results == [check(resident, account) for resident, account in pairs]


def test_check_many_shows_each_close_pair_its_own_account_name():
    results = check_many([("ヤマダ タロウ", "ﾔﾏﾀﾞ ｼﾞﾛｳ"), ("ヤマダ タロウ", "ヤマダ ジロウ")])
    assert [r.account_display for r in results] == ["ﾔﾏﾀﾞ ｼﾞﾛｳ", "ヤマダ ジロウ"]


def test_check_many_accepts_lists_and_generators():
    results = check_many(iter([["やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"], ("ヤマダ タロウ", None)]))
    assert [r.outcome for r in results] == [Outcome.MATCH, Outcome.UNAVAILABLE]


def test_swapped_order_names_the_part_that_differs_by_the_accounts_order():
    from madoguchi.namecheck import Reason, check, check_batch

    result = check("タロウ ヤマダ", "ﾔﾏﾀﾞ ｼﾞﾛｳ")
    assert result.reason is Reason.GIVEN_NAME_DIFFERS
    assert check("タロウ ヤマダ", "ｽｽﾞｷ ﾀﾛｳ").reason is Reason.FAMILY_NAME_DIFFERS
    batch = check_batch(["タロウ ヤマダ", "タロウ ヤマダ"], ["ﾔﾏﾀﾞ ｼﾞﾛｳ", "ｽｽﾞｷ ﾀﾛｳ"])
    assert [batch.reason(0), batch.reason(1)] == [
        Reason.GIVEN_NAME_DIFFERS,
        Reason.FAMILY_NAME_DIFFERS,
    ]
