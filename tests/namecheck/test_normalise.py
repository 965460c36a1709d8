"""Normalisation to the canonical katakana form."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.namecheck import normalise
from madoguchi.namecheck.normalise import analyse


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # width: half-width katakana with separate voiced marks
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
        ("ﾊﾟﾝﾀﾞ", "パンダ"),
        ("ＹＡＭＡＤＡ", "YAMADA"),
        # hiragana → katakana, ideographic space → one ASCII space
        ("やまだ\u3000たろう", "ヤマダ タロウ"),
        ("  やまだ \u3000  たろう  ", "ヤマダ タロウ"),
        # voiced marks written as separate characters
        ("か゛とう", "ガトウ"),
        ("カ\u3099トウ", "ガトウ"),
        ("ほ゜ん", "ポン"),
        # small kana → large (bank names cannot hold small kana)
        ("キュウ", "キユウ"),
        ("ｷｮｳｺ", "キヨウコ"),
        ("きょうこ", "キヨウコ"),
        ("ヵヶ", "カケ"),
        # long-vowel and hyphen variants after kana → ー, collapsed
        ("ジョージ", "ジヨージ"),
        ("ｼﾞｮｰｼﾞ", "ジヨージ"),
        ("ジョ-ジ", "ジヨージ"),
        ("ジョ‐ジ", "ジヨージ"),
        ("ジョ−ジ", "ジヨージ"),
        ("ジョ〜ジ", "ジヨージ"),
        ("ジョ～ジ", "ジヨージ"),
        ("ジョ一ジ", "ジヨージ"),
        ("ジョーージ", "ジヨージ"),
        # a hyphen between Latin words separates them
        ("smith-jones john", "SMITH JONES JOHN"),
        # ヴ written in its different ways
        ("ｳﾞｨｸﾄﾘｱ", "ヴイクトリア"),
        ("ウ\u3099ィクトリア", "ヴイクトリア"),
        ("ゔぃくとりあ", "ヴイクトリア"),
        ("ヷ", "ヴア"),
        # iteration marks
        ("みすゞ", "ミスズ"),
        ("いすゝ", "イスス"),
        # punctuation between the parts
        ("ヤマダ・タロウ", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ.ﾀﾛｳ", "ヤマダ タロウ"),
        # honorifics
        ("ヤマダ タロウ 様", "ヤマダ タロウ"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ様", "ヤマダ タロウ"),
        ("SMITH JOHN ｻﾏ", "SMITH JOHN"),
        ("SMITH JOHN さん", "SMITH JOHN"),
        ("山田 太郎 殿", "山田 太郎"),
        ("ヤマダ タロウ ドノ", "ヤマダ タロウ"),
        # ... but サン, サマ and 様 only where they cannot be a word of the name: after kana
        # サン and サマ are (Sang, 燦; Samah), in a kanji name 様 may be
        ("リ サン", "リ サン"),
        ("グエン ヴァン サン", "グエン ヴアン サン"),
        ("ﾔﾏﾀﾞ ﾀﾛｳ ｻﾏ", "ヤマダ タロウ サマ"),
        ("やまだ たろう さん", "ヤマダ タロウ サン"),
        ("山田太郎様", "山田太郎様"),
        # the middle dots and double hyphens between a foreign name's words
        ("ジョン·スミス", "ジヨン スミス"),
        ("ジョン•スミス", "ジヨン スミス"),
        ("ジョン‧スミス", "ジヨン スミス"),
        ("ジョン゠スミス", "ジヨン スミス"),
        ("ジョン＝スミス", "ジヨン スミス"),
        ("ｼﾞﾖﾝ･ｽﾐｽ", "ジヨン スミス"),
        # CJK compatibility ideographs stay as they are (NFKC made U+FA10 the unified 塚)
        ("\ufa10本 太郎", "\ufa10本 太郎"),
        ("\U0002f8a6", "\U0002f8a6"),
        # ASCII case
        ("Smith John", "SMITH JOHN"),
    ],
)
def test_normalise(raw, canonical):
    assert normalise(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "ヤマダシヨウジ"),
        ("(ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "ヤマダシヨウジ"),
        ("ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ", "ヤマダシヨウジ"),
        ("ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ)", "ヤマダシヨウジ"),
        ("ﾕ)ｻｶｲｼﾖｳﾃﾝ", "サカイシヨウテン"),
        ("ｻｶｲｼﾖｳﾃﾝ(ﾕ", "サカイシヨウテン"),
        ("ｼﾔ)ﾆﾎﾝｷﾖｳｶｲ", "ニホンキヨウカイ"),
        ("ﾄｸﾋ)ﾏﾄﾞｸﾞﾁ", "マドグチ"),
        ("ﾄﾞ)ｱｵｿﾞﾗ", "アオゾラ"),
        ("株式会社山田商事", "山田商事"),
        ("山田商事株式会社", "山田商事"),
        ("㈱山田商事", "山田商事"),
        ("（有）山田商店", "山田商店"),
        ("ヤマダショウジ カブシキガイシャ", "ヤマダシヨウジ"),
    ],
)
def test_legal_forms_are_removed_and_flagged(raw, canonical):
    assert normalise(raw) == canonical
    assert analyse(raw).entity is True


@pytest.mark.parametrize("person", ["ﾔﾏﾀﾞ ﾀﾛｳ", "カトウ カナ", "イトウ ユイ", "シマ カイ"])
def test_person_names_are_not_legal_entities(person):
    assert analyse(person).entity is False


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("齋藤", "斎藤"),
        ("斎藤", "斉藤"),
        ("齋藤", "斉藤"),
        ("渡邊", "渡辺"),
    ],
)
def test_variant_kanji_are_not_folded(a, b):
    assert normalise(a) == a
    assert normalise(b) == b
    assert normalise(a) != normalise(b)


def test_the_other_word_order_moves_the_family_name_to_the_other_end():
    """Three words given-first (JOHN MICHAEL SMITH) are SMITH JOHN MICHAEL family-first: the
    other order moves a word from one end to the other, never reverses the words."""
    assert analyse("SMITH JOHN MICHAEL").rkey == "JOHNMICHAELSMITH"
    assert analyse("ｽﾐｽ ｼﾞﾖﾝ ﾏｲｹﾙ").rkey == analyse("ジョン マイケル スミス").key


def test_forms_used_by_the_comparison():
    n = analyse("ｷｮｳｺ ﾔﾏﾀﾞ")
    assert n.text == "キヨウコ ヤマダ"
    assert n.key == "キヨウコヤマダ"
    assert n.rkey == "ヤマダキヨウコ"
    assert n.tokens == ("キヨウコ", "ヤマダ")
    assert n.unfolded == "キョウコヤマダ"


@pytest.mark.parametrize("blank", ["", " ", "\u3000\u3000", "\u200b", "\t\n"])
def test_blank_names_normalise_to_empty(blank):
    assert normalise(blank) == ""


def test_non_string_input_is_treated_as_empty():
    assert normalise(None) == ""  # type: ignore[arg-type]


# The shortcut for plain katakana names must give what the full pipeline gives.
_KATAKANA = (
    [chr(c) for c in range(0x30A1, 0x3100)] + list(" ー　ｰ") + ["ガイシヤ", "サマ", "(", ")"]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_KATAKANA), max_size=12).map("".join))
def test_plain_name_shortcut_equals_the_full_pipeline(text):
    from madoguchi.namecheck.normalise import _full, _plain

    plain = _plain(text)
    if plain is not None:
        assert plain == _full(text)


def test_plain_name_shortcut_applies_to_plain_names_only():
    from madoguchi.namecheck.normalise import _full, _plain

    for name in ("ヤマダ タロウ", "ヤマダタロウ", "ヴイツテ ゴホ"):
        assert _plain(name) == _full(name)
    for name in (
        "キョウコ",
        "ヤマダ  タロウ",
        " ヤマダ",
        "ヤマダ タロウ サマ",
        "ヤマダ(カ",
        "ヤマダガイシヤ",
    ):
        assert _plain(name) is None
