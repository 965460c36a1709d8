"""Properties of normalisation and comparison over generated names."""

from hypothesis import given, settings
from hypothesis import strategies as st

from madoguchi.namecheck import Outcome, Reason, check, check_batch, check_many, normalise
from madoguchi.namecheck.check import _name_within
from madoguchi.namecheck.normalise import analyse

# Characters that occur in names and in the ways they are written.
KANA_ALPHABET = (
    [chr(c) for c in range(0x3041, 0x3097)]  # hiragana
    + [chr(c) for c in range(0x30A1, 0x30FB)]  # katakana
    + [chr(c) for c in range(0xFF66, 0xFFA0)]  # half-width katakana and marks
    + list("ー-‐−〜～ ・.()\u3000゛゜\u3099\u309aゝゞヽヾ一")
    + list("様殿さんサマ株式会社有限")
    + list("ABCxyz髙高﨑崎齋斎斉")
    # CJK compatibility ideographs (kept, variants of 塚 神), other separators of words
    + list("\ufa10\ufa7c\ufa19塚神·•゠＝")
    # variation selectors (after a kanji, a variant of it; anywhere else removed)
    + ["\ufe00", "\ufe0f", "\U000e0100", "\U000e0101", "葛"]
)
names = st.text(alphabet=KANA_ALPHABET, max_size=16)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(st.text(max_size=40))
def test_never_raises_on_arbitrary_text(text):
    assert isinstance(normalise(text), str)
    result = check(text, text)
    assert result.outcome in Outcome
    check(text, None)
    check("ヤマダ タロウ", text)


@SETTINGS
@given(st.one_of(names, st.text(max_size=30)))
def test_normalise_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once


@SETTINGS
@given(names)
def test_canonical_form_has_no_small_kana_hiragana_or_half_width(text):
    canonical = normalise(text)
    assert not any("\u3041" <= ch <= "\u3096" for ch in canonical)
    assert not any("\uff61" <= ch <= "\uff9f" for ch in canonical)
    assert not set(canonical) & set("ァィゥェォッャュョヮヵヶ")
    assert "  " not in canonical
    assert canonical == canonical.strip()


# A name with words the other lacks: which side has them is said (round 22, probe G). Two
# names of two words, one part equal in the other order: the account's order names the parts
# (check._parts_equal), so ヤマダ's part is the family name's or the given name's by the side.
MIRRORED = {
    Reason.NAME_PART_ADDED: Reason.NAME_PART_OMITTED,
    Reason.NAME_PART_OMITTED: Reason.NAME_PART_ADDED,
}
PARTS = {Reason.GIVEN_NAME_DIFFERS, Reason.FAMILY_NAME_DIFFERS}


@SETTINGS
@given(names, names)
def test_outcome_and_reason_are_symmetric(a, b):
    """Up to which side has the words the other lacks; and but for a resident's whole name
    standing inside an account's after another word (a trade name first), which is looked for
    in the account's name only."""
    na, nb = analyse(a), analyse(b)
    if not na.key or not nb.key:
        return  # unavailable and empty-resident are one-sided by definition
    ab, ba = check(a, b), check(b, a)
    assert ab.score == ba.score
    if _name_within(nb.tokens, na.tokens) or _name_within(na.tokens, nb.tokens):
        return
    assert ab.outcome == ba.outcome
    if {ab.reason, ba.reason} <= PARTS:
        return
    assert MIRRORED.get(ab.reason, ab.reason) == ba.reason


@SETTINGS
@given(names)
def test_a_name_matches_itself_in_any_writing(text):
    if not analyse(text).key or analyse(text).entity:
        return  # the canonical form drops the legal form that made it a company's name
    assert check(text, text).outcome is Outcome.MATCH
    assert check(text, normalise(text)).outcome is Outcome.MATCH


@SETTINGS
@given(st.lists(st.tuples(names, st.one_of(st.none(), names)), max_size=20))
def test_check_many_equals_check(pairs):
    assert check_many(pairs) == [check(a, b) for a, b in pairs]


@SETTINGS
@given(st.lists(st.tuples(names, st.one_of(st.none(), names)), max_size=20))
def test_check_batch_equals_check(pairs):
    batch = check_batch([a for a, _ in pairs], [b for _, b in pairs])
    for i, (a, b) in enumerate(pairs):
        expected = check(a, b)
        got = (batch.outcome(i), batch.reason(i), batch.score(i))
        assert got == (expected.outcome, expected.reason, expected.score)


@SETTINGS
@given(names)
def test_unavailable_without_account_name(text):
    result = check(text, None)
    if analyse(text).key:
        assert (result.outcome, result.reason) == (Outcome.UNAVAILABLE, Reason.NAME_UNAVAILABLE)
