"""A name written with fewer separators is the same split (joined family names, given and middle
names run together); a company's spacing is no family/given split; legal forms written out in
kana; a hyphen between two kana words (round 21, probe S)."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from madoguchi.namecheck import Outcome, Reason, check, check_batch, normalise
from madoguchi.namecheck.normalise import analyse

JOINED = [
    # A double-barrelled family name written with ＝ (the usual katakana joiner), ・ or =; the
    # bank cannot hold the joiner and writes the family name as one word. Both names end the
    # family name at the same place (スミス＝ジョーンズ | アンナ): nothing is split elsewhere.
    # Round 21 made these close (SPLIT_DIFFERS): three words against two.
    ("スミス＝ジョーンズ アンナ", "ｽﾐｽｼﾞﾖｰﾝｽﾞ ｱﾝﾅ"),
    ("スミス・ジョーンズ アンナ", "ｽﾐｽｼﾞﾖｰﾝｽﾞ ｱﾝﾅ"),
    ("スミス=ジョーンズ アンナ", "ｽﾐｽｼﾞﾖｰﾝｽﾞ ｱﾝﾅ"),
    ("ガルシア＝ロペス マリア", "ｶﾞﾙｼｱﾛﾍﾟｽ ﾏﾘｱ"),
    # the account's name given first, its family name joined
    ("スミス＝ジョーンズ アンナ", "ｱﾝﾅ ｽﾐｽｼﾞﾖｰﾝｽﾞ"),
]


@pytest.mark.parametrize(("resident", "account"), JOINED)
def test_a_joined_family_name_is_not_split_elsewhere(resident, account):
    result = check(resident, account)
    assert result.outcome is Outcome.MATCH, (result.outcome, result.reason)
    assert result.reason is not Reason.SPLIT_DIFFERS
    batch = check_batch([resident], [account])
    assert batch.results() == [result]


def test_the_separator_text_speaks_of_any_separator():
    """SEPARATOR_DIFFERS now also says a joiner (＝, ・) inside a family name is missing."""
    result = check("ガルシア＝ロペス マリア", "ｶﾞﾙｼｱﾛﾍﾟｽ ﾏﾘｱ")
    assert result.reason is Reason.SEPARATOR_DIFFERS
    assert "・" in result.reason_text("ja")
    assert "姓と名の区切り（空白）" not in result.reason_text("ja")


@pytest.mark.parametrize(
    ("resident", "account"),
    [
        ("モリ タカコ", "ﾓﾘﾀ ｶｺ"),  # 森 貴子 against 森田 佳子: still close
        ("オカ ダイスケ", "ｵｶﾀﾞ ｲｽｹ"),
        ("タカコ モリ", "ﾓﾘﾀ ｶｺ"),
        ("モリ＝タ カコ", "ﾓﾘﾀｶ ｺ"),  # a joiner is a boundary like a space: {2, 3} against {4}
        ("マリア アナ ガルシア", "ﾏﾘ ｱｱﾅ ｶﾞﾙｼｱ"),
    ],
)
def test_a_boundary_on_each_side_the_other_lacks_is_still_close(resident, account):
    result = check(resident, account)
    assert (result.outcome, result.reason) == (Outcome.CLOSE, Reason.SPLIT_DIFFERS)
    assert check_batch([resident], [account]).results() == [result]


def test_a_companys_spacing_is_not_a_family_and_given_split():
    """Two company names, the same company and the same legal form, spaced at other places
    (ｶ)ｻｸﾗ ｼﾖｳｼﾞ ﾄｳｷﾖｳｼﾃﾝ: a branch written as the bank spaced it). A company has no family
    and given name; SPLIT_DIFFERS's text (「姓と名の区切り…別の方のお名前の可能性」) is
    untrue of it. Before round 21 this was a match."""
    resident = "カブシキガイシャ サクラショウジ トウキョウシテン"
    account = "ｶ)ｻｸﾗ ｼﾖｳｼﾞ ﾄｳｷﾖｳｼﾃﾝ"
    result = check(resident, account)
    assert result.outcome is Outcome.MATCH, result.reason
    assert "姓と名" not in result.reason_text("ja")
    assert check_batch([resident], [account]).results() == [result]
    # spaced at places neither has in common, no small kana: the writing only
    resident, account = "(株)サクラ ベーカリーナゴヤテン", "ｶ)ｻｸﾗﾍﾞｰｶﾘｰ ﾅｺﾞﾔﾃﾝ"
    result = check(resident, account)
    assert (result.outcome, result.reason) == (Outcome.MATCH, Reason.EXACT_AFTER_NORMALISATION)
    assert check_batch([resident], [account]).results() == [result]
    # another legal form is still another company
    assert (
        check("ユウゲンガイシャ サクラショウジ", "ｶ)ｻｸﾗ ｼﾖｳｼﾞ").reason is Reason.LEGAL_FORM_DIFFERS
    )


@pytest.mark.parametrize(
    ("written_out", "abbreviated"),
    [
        ("イリョウホウジンシャダン ヤマダカイ", "ｲ)ﾔﾏﾀﾞｶｲ"),
        ("イリョウホウジンザイダン ヤマダカイ", "ｲ)ﾔﾏﾀﾞｶｲ"),
        ("医療法人社団 山田会", "(医)山田会"),
        ("社会医療法人 山田会", "(医)山田会"),
        ("イッパンシャダンホウジン ヤマダカイ", "ｼﾔ)ﾔﾏﾀﾞｶｲ"),
        ("コウエキシャダンホウジン ヤマダカイ", "ｼﾔ)ﾔﾏﾀﾞｶｲ"),
        ("イッパンザイダンホウジン ヤマダキネンザイダン", "ｻﾞｲ)ﾔﾏﾀﾞｷﾈﾝｻﾞｲﾀﾞﾝ"),
        ("一般社団法人山田会", "(一社)山田会"),
        ("公益財団法人山田記念財団", "(公財)山田記念財団"),
        ("シャカイフクシホウジン ヤマダカイ", "ﾌｸ)ﾔﾏﾀﾞｶｲ"),
        ("ガッコウホウジン ヤマダガクエン", "ｶﾞｸ)ﾔﾏﾀﾞｶﾞｸｴﾝ"),
        ("トクテイヒエイリカツドウホウジン ヤマダノカイ", "ﾄｸﾋ)ﾔﾏﾀﾞﾉｶｲ"),
        ("シュウキョウホウジン ヤマダジ", "ｼﾕｳ)ﾔﾏﾀﾞｼﾞ"),
        ("チホウドクリツギョウセイホウジン ヤマダビョウイン", "ﾁﾄﾞｸ)ﾔﾏﾀﾞﾋﾞﾖｳｲﾝ"),
        ("ｷﾞﾖｳ)ﾔﾏﾀﾞｼﾞﾑｼﾖ", "ｷﾞﾖ)ﾔﾏﾀﾞｼﾞﾑｼﾖ"),  # 行政書士法人: the table's ｷﾞﾖ
    ],
)
def test_legal_forms_written_out_in_kana_are_the_zengin_abbreviations(written_out, abbreviated):
    """イリョウホウジンシャダン left シヤダン as a word of the name, イッパンシャダンホウジン
    left イツパン; シャカイフクシホウジン, ガッコウホウジン and トクテイヒエイリカツドウホウジン
    were not recognised at all (a person's name against the abbreviation's company)."""
    a, b = analyse(written_out), analyse(abbreviated)
    assert a.entity
    assert a.legal_form == b.legal_form != ""
    assert a.key == b.key
    result = check(written_out, abbreviated)
    assert result.outcome is Outcome.MATCH, (result.outcome, result.reason)
    assert check_batch([written_out], [abbreviated]).results() == [result]


@pytest.mark.parametrize(
    ("resident", "account", "outcome", "reason"),
    [
        # a hyphen between two kana words where the other name has its space: a separator
        ("ヤマダ タロウ", "ﾔﾏﾀﾞ-ﾀﾛｳ", Outcome.MATCH, Reason.EXACT_AFTER_NORMALISATION),
        ("ヤマダ タロウ", "ﾔﾏﾀﾞ－ﾀﾛｳ", Outcome.MATCH, Reason.EXACT_AFTER_NORMALISATION),
        ("タロウ ヤマダ", "ﾔﾏﾀﾞ-ﾀﾛｳ", Outcome.MATCH, Reason.ORDER_SWAPPED),
        ("スミス ジョーンズ アンナ", "ｽﾐｽ-ｼﾞﾖｰﾝｽﾞ ｱﾝﾅ", Outcome.MATCH, Reason.SMALL_KANA_FOLDED),
        # the long vowel, as Zengin data writes it: as before
        ("ジョージ スミス", "ｼﾞﾖ-ｼﾞ ｽﾐｽ", Outcome.MATCH, Reason.SMALL_KANA_FOLDED),
        (
            "カブシキガイシャ スーパーヤマダ",
            "ｶ)ｽ-ﾊﾟ-ﾔﾏﾀﾞ",
            Outcome.MATCH,
            Reason.EXACT_AFTER_NORMALISATION,
        ),
        # no space on the other side to say a word ends there: still read as ー, shown
        ("ヤマダタロウ", "ﾔﾏﾀﾞ-ﾀﾛｳ", Outcome.CLOSE, Reason.MINOR_TYPO),
        ("スミスジョーンズ アンナ", "ｽﾐｽ-ｼﾞﾖｰﾝｽﾞ ｱﾝﾅ", Outcome.CLOSE, Reason.FAMILY_NAME_DIFFERS),
        # the other name's space elsewhere: not a separator there
        ("ヤマ ダタロウ", "ﾔﾏﾀﾞ-ﾀﾛｳ", Outcome.CLOSE, Reason.GIVEN_NAME_DIFFERS),
    ],
)
def test_a_hyphen_between_two_kana_words_separates_where_the_other_name_does(
    resident, account, outcome, reason
):
    """ﾔﾏﾀﾞ-ﾀﾛｳ was read as ヤマダータロウ only (MINOR_TYPO, close, against ヤマダ タロウ). In
    Zengin data the hyphen-minus is the long vowel (ｼﾞﾖ-ｼﾞ, ｽ-ﾊﾟ-) as well as a separator, so
    it is read as a space only where the other name has a word boundary."""
    result = check(resident, account)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert check(account, resident).outcome is outcome
    assert check_batch([resident, account], [account, resident]).results() == [
        result,
        check(account, resident),
    ]
    assert normalise(account) == normalise(account.replace("-", "ｰ"))


KANA = [chr(c) for c in range(0x30A2, 0x30F3)]
words = st.lists(st.text(alphabet=KANA, min_size=1, max_size=4), min_size=2, max_size=4)


@settings(max_examples=200, deadline=None)
@given(words, st.data())
def test_fewer_separators_at_the_same_places_match(parts, data):
    """One side's words joined (some of its boundaries dropped, the rest kept or written with
    ＝ and ・ instead of a space) is the same split: a match, never SPLIT_DIFFERS; and
    check_batch agrees."""
    assume(parts[-1] not in ("ドノ", "ゴチユウ", "ゴチュウ"))  # an honorific after two words
    joiners = data.draw(
        st.lists(
            st.sampled_from([" ", "", "＝", "・"]), min_size=len(parts) - 1, max_size=len(parts) - 1
        )
    )
    resident = " ".join(parts)
    account = parts[0] + "".join(j + w for j, w in zip(joiners, parts[1:], strict=True))
    assume(not analyse(resident).entity and not analyse(account).entity)
    result = check(resident, account)
    assert result.outcome is Outcome.MATCH, (resident, account, result.reason)
    pairs = [(resident, account), (account, resident)]
    batch = check_batch([r for r, _ in pairs], [a for _, a in pairs])
    assert batch.results() == [check(r, a) for r, a in pairs]
