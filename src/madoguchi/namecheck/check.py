"""Comparison of a resident's kana name with an account holder's name."""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, make_dataclass

from rapidfuzz.fuzz import ratio

from madoguchi.namecheck.normalise import KANA, KANJI, LATIN, SELECTORS, Normalised, analyse
from madoguchi.namecheck.reasons import ACCOUNT, Outcome, Reason, outcome_text, reason_text

__all__ = [
    "CLOSE_THRESHOLD",
    "MATCH_THRESHOLD",
    "NameCheckResult",
    "check",
    "check_many",
]

MATCH_THRESHOLD = 97.0
"""Similarity (0-100, rapidfuzz ``fuzz.ratio`` on the spaceless canonical forms) at or above
which two names that are not equal still match. One edit in a name of n characters scores at
most 100*(1 - 1/(2n)), so only names of 17 or more kana can reach it: Japanese personal names
(at most about 12 kana) match only when they are equal after normalisation."""

CLOSE_THRESHOLD = 80.0
"""Similarity at or above which names are a close match (shown, confirmed by the resident).
ヤマダタロウ/ヤマダジロウ (one kana in six) scores 83.3 and is close; two kana in six score 66.7
and are no match."""


@dataclass(frozen=True, slots=True)
class NameCheckResult:
    """The outcome of one name check."""

    outcome: Outcome
    reason: Reason
    score: float
    """Similarity 0-100 of the canonical forms (best word order); 100 when they are equal."""
    resident_normalised: str
    account_normalised: str
    account_display: str | None
    """The account holder's name to show to staff and resident: only for ``close``
    (match and no match show no name, as in Confirmation of Payee)."""

    @property
    def needs_confirmation(self) -> bool:
        """Close and unavailable need the resident's explicit confirmation and a checklist item."""
        return self.outcome in (Outcome.CLOSE, Outcome.UNAVAILABLE)

    @property
    def blocked(self) -> bool:
        """No match: linking is refused unless a documented exception applies."""
        return self.outcome is Outcome.NO_MATCH

    def outcome_text(self, lang: str = "ja") -> str:
        return outcome_text(self.outcome, lang)

    def reason_text(self, lang: str = "ja", subject: str = ACCOUNT) -> str:
        return reason_text(self.reason, lang, subject)


# A frozen dataclass sets each field through object.__setattr__, which costs three times as
# much as building a plain slotted twin and switching its class (same slots, so the layouts
# are identical). check_many builds one result per distinct pair, so this is its hot path.
_Draft = make_dataclass("_Draft", [(f.name, f.type) for f in fields(NameCheckResult)], slots=True)


def _make(
    outcome: Outcome,
    reason: Reason,
    score: float,
    resident_normalised: str,
    account_normalised: str,
    account_display: str | None,
) -> NameCheckResult:
    draft = _Draft(outcome, reason, score, resident_normalised, account_normalised, account_display)
    draft.__class__ = NameCheckResult
    return draft  # type: ignore[no-any-return]


# Variant kanji are never folded; knowing the pairs only changes the reason code shown. Every
# CJK compatibility ideograph is also a variant of the unified ideograph NFC would make it
# (U+FA10 and U+FA7C of 塚 U+585A, U+FA19 of 神 U+795E: normalise keeps them), added below; 角's
# variants are written with variation selectors, not code points of their own: a kanji and
# the selector after it (葛 and U+E0100, an ideographic variation sequence; 塚 and U+FE00) are
# one character of the register, a variant of the kanji without it or with another selector.
_VARIANT_GROUPS = (
    "高髙",
    "崎﨑埼嵜",
    "斎齋斉齊",
    "辺邊邉",
    "沢澤",
    "浜濱",
    "桜櫻",
    "広廣",
    "国國",
    "島嶋嶌",
    "真眞",
    "槙槇",
    "徳德",
    "蔵藏",
    "恵惠",
    "竜龍",
    "瀬瀨",
    "富冨",
    "塚\ufa10\ufa7c",
    "黒黑",
    "吉𠮷",
    "関關",
    "籠篭",
    "条條",
    "藤籐",
)


def _variant_of() -> dict[str, int]:
    group_of = {ch: i for i, group in enumerate(_VARIANT_GROUPS) for ch in group}
    groups = len(_VARIANT_GROUPS)
    for cp in (*range(0xF900, 0xFB00), *range(0x2F800, 0x2FA20)):
        compatibility = chr(cp)
        unified = unicodedata.normalize("NFC", compatibility)
        if unified != compatibility and len(unified) == 1:
            if unified not in group_of:
                group_of[unified] = groups
                groups += 1
            group_of[compatibility] = group_of[unified]
    return group_of


_VARIANT_OF: dict[str, int] = _variant_of()


_HAS_SELECTOR = re.compile(f"[{SELECTORS}]")
_GLYPH = re.compile(f"(?s:.)[{SELECTORS}]?")


def _variants_only(a: str, b: str) -> bool:
    """The names differ, and only in variant kanji: each differing character of one a variant
    of the other's (髙/高, 塚/塚), or the same kanji with another variation selector or
    none (葛 and 葛 followed by U+E0100)."""
    if _HAS_SELECTOR.search(a) or _HAS_SELECTOR.search(b):
        return _glyph_variants_only(_GLYPH.findall(a), _GLYPH.findall(b))
    if len(a) != len(b):
        return False
    differs = False
    for x, y in zip(a, b, strict=True):
        if x != y:
            group = _VARIANT_OF.get(x)
            if group is None or group != _VARIANT_OF.get(y):
                return False
            differs = True
    return differs


def _glyph_variants_only(a: Sequence[str], b: Sequence[str]) -> bool:
    """``_variants_only`` over characters that may carry a variation selector (one item each:
    the character and its selector)."""
    if len(a) != len(b):
        return False
    differs = False
    for x, y in zip(a, b, strict=True):
        if x != y:
            if x[0] != y[0]:
                group = _VARIANT_OF.get(x[0])
                if group is None or group != _VARIANT_OF.get(y[0]):
                    return False
            differs = True
    return differs


# ヴ and the sounds written with it, as a bank or an insurer that cannot hold ヴ writes them
# (after small kana are made large: ヴァ is ヴア here).
_V_SPELLING = re.compile("ヴ[アイエオ]?")
_AS_B = {"ヴ": "ブ", "ヴア": "バ", "ヴイ": "ビ", "ヴエ": "ベ", "ヴオ": "ボ"}


def _as_b(key: str) -> str:
    return _V_SPELLING.sub(lambda m: _AS_B[m.group()], key) if "ヴ" in key else key


def _v_spelling_only(na: Normalised, nb: Normalised) -> bool:
    """The names are equal, in either word order, once ヴ is written as ブ (ヴァン as バン) on
    both sides: a spelling a bank's character set may force, which changes the name's length
    and so would score as two kana changed."""
    if "ヴ" not in na.key and "ヴ" not in nb.key:
        return False
    a, b = _as_b(na.key), _as_b(nb.key)
    return a == b or _as_b(na.rkey) == b or a == _as_b(nb.rkey)


# One sound in two kana spellings, as a family register's reading, a resident and a bank or an
# insurer may each write it: ヂ/ジ, ヅ/ズ, ヲ/オ, ヰ/イ, ヱ/エ (half-width kana has no ヰ ヱ: a
# bank holds ヱミ as ｴﾐ), and a long vowel as ー or as its vowel's kana (オオノ/オーノ, ユウ/ユー,
# ケイコ/ケーコ; after small kana are made large, so キュウ is キユウ).
# Every fold keeps a name's length (check_batch relies on it).
_SAME_SOUND = str.maketrans("ヂヅヲヰヱ", "ジズオイエ")
_LONG_VOWEL = re.compile(
    "(?<=[アカサタナハマヤラワガザダバパ])ア"
    "|(?<=[イキシチニヒミリギジビピ])イ"
    "|(?<=[ウクスツヌフムユルグズブプヴ])ウ"
    "|(?<=[エケセテネヘメレゲゼデベペ])[イエ]"
    "|(?<=[オコソトノホモヨロゴゾドボポ])[ウオ]"
)


def _spelling_folded(tokens: Sequence[str]) -> list[str]:
    """Each word with the spellings of one sound written one way (a long vowel as ー)."""
    return [_LONG_VOWEL.sub("ー", word.translate(_SAME_SOUND)) for word in tokens]


def _kana_spelling_only(na: Normalised, nb: Normalised) -> bool:
    """The names are equal, in either word order, once the kana spellings of one sound are
    written one way (オオノ ユウ and ｵｰﾉ ﾕｰ; ツヅキ and ﾂｽﾞｷ): a resident's reading and a bank's
    or an insurer's record may spell a long vowel or ヂ/ヅ differently, and where both words
    did, the two kana changed scored as another person's name. The other word order is the
    first word moved to the end of either name, as ``Normalised.rkey``."""
    a = _spelling_folded(na.tokens)
    b = _spelling_folded(nb.tokens)
    key_a, key_b = "".join(a), "".join(b)
    return key_a == key_b or _other_order(a) == key_b or key_a == _other_order(b)


def _other_order(words: Sequence[str]) -> str:
    """The words without spaces, the first moved to the end (as ``Normalised.rkey``)."""
    return "".join(words[1:]) + words[0] if words else ""


def _part_omitted(a: Sequence[str], b: Sequence[str]) -> bool:
    """One name is the other with words left out after its first, or cut short, as a bank's or
    an insurer's record may hold a long name (SMITH JOHN MICHAEL as SMITH JOHN; グエン ティ トゥ
    フオン as ｸﾞｴﾝ ﾌｵﾝ; MONTGOMERY ALEXANDRA ELIZABETH as MONTGOMERY ALEXANDRA ELI, cut at a
    field's length): two words at least on the shorter side and fewer than on the longer, the
    same first word (the family name), and the shorter's other words in the longer's in their
    order, its last one perhaps only the start of one."""
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    if len(short) < 2 or len(short) == len(long_) or short[0] != long_[0]:
        return False
    rest = iter(long_[1:])
    if not all(word in rest for word in short[1:-1]):  # `in` consumes `rest`: in order
        return False
    return any(word.startswith(short[-1]) for word in rest)


def _name_within(account: Sequence[str], resident: Sequence[str]) -> bool:
    """The resident's whole name (two words at least) stands in the account's, which has more
    words, as consecutive words after its first: a sole proprietor's account, the trade name
    (屋号) first, then the name (ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾔﾏﾀﾞ ﾀﾛｳ, ﾔﾏﾀﾞｼﾖｳﾃﾝ ﾀﾞｲﾋﾖｳ ﾔﾏﾀﾞ ﾀﾛｳ,
    ﾔﾏﾀﾞｼﾖｳﾃﾝ(ﾔﾏﾀﾞ ﾀﾛｳ)). (At the start it is `_part_omitted`'s.)"""
    n = len(resident)
    if n < 2 or len(account) <= n:
        return False
    first = resident[0]
    return any(
        account[i] == first and tuple(account[i : i + n]) == tuple(resident)
        for i in range(1, len(account) - n + 1)
    )


def _is_rotation(a: str, b: str) -> bool:
    """b is a with its parts swapped, each part at least two characters (no spaces on either)."""
    if len(a) != len(b) or len(a) < 4:
        return False
    return any(a[i:] + a[:i] == b for i in range(2, len(a) - 1))


def _boundaries(words: Sequence[str]) -> frozenset[int]:
    """Where the words end in the name written without spaces (its last word's end left out):
    ヤマダ タロウ {3}, スミス ジヨーンズ アンナ {3, 8}, ヤマダタロウ {}."""
    ends: set[int] = set()
    at = 0
    for word in words[:-1]:
        at += len(word)
        ends.add(at)
    return frozenset(ends)


def _nested(a: Sequence[str], b: Sequence[str]) -> bool:
    """The word boundaries of one name are all boundaries of the other (one name splits the
    same kana as the other does, only in fewer places): nothing in either says a word ends
    where the other says it goes on. スミス＝ジョーンズ アンナ (スミス ジヨーンズ アンナ) and ｽﾐｽｼﾞﾖｰﾝｽﾞ
    ｱﾝﾅ end the family name at the same place; ヤマダタロウ says nothing against ﾔﾏﾀﾞ ﾀﾛｳ."""
    x, y = _boundaries(a), _boundaries(b)
    return x <= y or y <= x


def _split_elsewhere(na: Normalised, nb: Normalised) -> bool:
    """For the same kana (equal keys), each name has a word boundary the other lacks: モリ
    タカコ (森 貴子) and ﾓﾘﾀ ｶｺ (森田 佳子) name two people, where a name with fewer spaces
    (ﾔﾏﾀﾞﾀﾛｳ against ﾔﾏﾀﾞ ﾀﾛｳ; ｽﾐｽｼﾞﾖｰﾝｽﾞ ｱﾝﾅ against スミス＝ジョーンズ アンナ) only lacks a
    separator. A company's name has no family and given name: its spacing is never a split."""
    if na.entity:
        return False
    return len(na.tokens) > 1 and len(nb.tokens) > 1 and not _nested(na.tokens, nb.tokens)


def _turned(words: tuple[str, ...]) -> tuple[str, ...]:
    """The words in the other order, the first moved to the end (as ``Normalised.rkey``)."""
    return (*words[1:], words[0])


def _word_swap(na: Normalised, nb: Normalised) -> bool | None:
    """For names whose keys differ: True if one is the other with its words in the other order
    (the first word moved to the end of either, and the word boundaries of the one turned and
    of the other nested, as `_nested`: the same words, or the other name one word with no
    space, or some of the words joined); False if the kana are the same in another order but
    each side has a boundary the other lacks (タカコ モリ against ﾓﾘﾀ ｶｺ; ﾛｳﾔﾏﾀﾞﾀ, a rotation
    of ヤマダタロウ with no space on either side to say where a word ends); None if neither."""
    a_turned = na.rkey == nb.key
    b_turned = nb.rkey == na.key
    if a_turned or b_turned:
        return (a_turned and _nested(_turned(na.tokens), nb.tokens)) or (
            b_turned and _nested(_turned(nb.tokens), na.tokens)
        )
    if len(na.tokens) == 1 and len(nb.tokens) == 1 and _is_rotation(na.key, nb.key):
        return False
    return None


def _hyphen_cuts(one: Normalised, spaced: Normalised) -> frozenset[int] | None:
    """Where, in ``spaced.key``, the words of ``spaced`` (``one`` with its hyphens between kana
    read as spaces) were joined by a hyphen in ``one`` (read there as ー); None if ``one`` is not
    ``spaced``'s words joined by spaces and ー."""
    text, pos, at = one.text, 0, 0
    cuts: set[int] = set()
    for word in spaced.tokens[:-1]:
        if not text.startswith(word, pos):
            return None
        pos += len(word)
        at += len(word)
        joiner = text[pos : pos + 1]
        if joiner == "ー":
            cuts.add(at)
        elif joiner != " ":
            return None
        pos += 1
    return frozenset(cuts) if cuts and text[pos:] == spaced.tokens[-1] else None


def _cuts(words: Sequence[str], length: int, shift: int) -> frozenset[int]:
    """The start and the word boundaries of a name of ``length`` kana, moved back by ``shift``
    around the name (a name turned, its first word of ``shift`` kana moved to the end)."""
    return frozenset((p - shift) % length for p in (0, *_boundaries(words)))


def _hyphens_as_spaces(na: Normalised, nb: Normalised) -> tuple[Outcome, Reason, float] | None:
    """The match of the names with one side's hyphens between two kana (ﾔﾏﾀﾞ-ﾀﾛｳ, read as
    ヤマダータロウ) read as spaces, if each such hyphen is where the other name has a word
    boundary (in the word order compared) and the names so read match; None otherwise. In
    Zengin data a hyphen is the long vowel (ｼﾞﾖ-ｼﾞ, ｽ-ﾊﾟ-) as often as a separator, so it
    separates only where the other name says a word ends."""
    for one, other in ((na, nb), (nb, na)):
        spaced = one.hyphens_as_spaces
        if spaced is None:
            continue
        hyphens = _hyphen_cuts(one, spaced)
        if hyphens is None:
            continue
        length = len(other.key)
        if spaced.key == other.key:
            ends = _cuts(other.tokens, length, 0)
        elif spaced.rkey == other.key:  # spaced turned: its kana at p are the other's at p - f
            ends = _cuts(other.tokens, length, -len(spaced.tokens[0]))
        elif spaced.key == other.rkey:
            ends = _cuts(other.tokens, length, len(other.tokens[0]))
        else:
            continue
        if not hyphens <= ends:
            continue
        a, b = (spaced, other) if one is na else (other, spaced)
        outcome, reason, score = _decide_names(a, b, False, None, None)
        if outcome is Outcome.MATCH:
            return outcome, reason, score
    return None


def _parts_equal(a: Sequence[str], b: Sequence[str]) -> tuple[bool, bool]:
    """(family name equal, given name equal) under the better word order; (False, False) if
    the names have no recognisable family/given structure."""
    if len(a) == 2 and len(b) == 2:
        direct = (a[0] == b[0], a[1] == b[1])
        # Swapped: the account's order (family first, as banks hold names) names the parts.
        swapped = (a[1] == b[0], a[0] == b[1])
        return direct if sum(direct) >= sum(swapped) else swapped
    if len(a) == 1 and len(b) == 2:
        a, b = b, a
    if len(a) == 2 and len(b) == 1:
        whole = b[0]
        family = whole.startswith(a[0]) or whole.endswith(a[0])
        given = whole.startswith(a[1]) or whole.endswith(a[1])
        return (family, given) if family != given else (False, False)
    return (False, False)


def _scripts_incomparable(a: int, b: int) -> bool:
    if (a & KANJI) != (b & KANJI):
        return True
    return not (a & b & (KANA | LATIN | KANJI))


def _decide(
    na: Normalised,
    nb: Normalised,
    same_raw: bool,
    key_score: float | None = None,
    best_score: float | None = None,
) -> tuple[Outcome, Reason, float]:
    """Outcome, reason and score of two normalised names; the one decision procedure that
    ``check`` and ``check_batch`` share.

    ``same_raw`` tells whether the raw inputs were identical (only ``EXACT`` depends on it).
    ``key_score`` (``ratio(na.key, nb.key)``) and ``best_score`` (the best of the three word
    orders) may be given when they were computed in bulk; otherwise they are computed here,
    only when a step needs them.
    """
    outcome, reason, score = _decide_names(na, nb, same_raw, key_score, best_score)
    if outcome is Outcome.MATCH and na.legal_form != nb.legal_form:
        # Two companies of one name and another legal form (株式会社ヤマダ, 有限会社ヤマダ) are
        # two companies: shown, never matched.
        return Outcome.CLOSE, Reason.LEGAL_FORM_DIFFERS, score
    return outcome, reason, score


def _decide_names(
    na: Normalised,
    nb: Normalised,
    same_raw: bool,
    key_score: float | None,
    best_score: float | None,
) -> tuple[Outcome, Reason, float]:
    """The steps of ``_decide`` up to the names' outcome, before the legal forms are compared."""
    if not nb.key and not nb.entity:
        return Outcome.UNAVAILABLE, Reason.NAME_UNAVAILABLE, 0.0
    if not na.key:
        return Outcome.NO_MATCH, Reason.RESIDENT_NAME_EMPTY, 0.0
    if na.entity != nb.entity:
        score = ratio(na.key, nb.key) if key_score is None else key_score
        return Outcome.NO_MATCH, Reason.LEGAL_ENTITY, score
    if na.key == nb.key:
        if _split_elsewhere(na, nb):
            return Outcome.CLOSE, Reason.SPLIT_DIFFERS, 100.0
        if same_raw:
            reason = Reason.EXACT
        elif na.unfolded != nb.unfolded:
            reason = Reason.SMALL_KANA_FOLDED
        elif na.text == nb.text or na.entity:
            # A company's words are no family and given name: its spacing is writing.
            reason = Reason.EXACT_AFTER_NORMALISATION
        else:
            reason = Reason.SEPARATOR_DIFFERS
        return Outcome.MATCH, reason, 100.0
    if _scripts_incomparable(na.script, nb.script):
        return Outcome.CLOSE, Reason.SCRIPT_MISMATCH, 0.0
    swap = _word_swap(na, nb)
    if swap:
        return Outcome.MATCH, Reason.ORDER_SWAPPED, 100.0
    if best_score is None:
        score = max(ratio(na.key, nb.key), ratio(na.rkey, nb.key), ratio(na.key, nb.rkey))
    else:
        score = best_score
    if swap is False:
        return Outcome.CLOSE, Reason.SPLIT_DIFFERS, score
    if na.hyphens_as_spaces is not None or nb.hyphens_as_spaces is not None:
        hyphens = _hyphens_as_spaces(na, nb)
        if hyphens is not None:
            return hyphens
    if _v_spelling_only(na, nb):
        return Outcome.CLOSE, Reason.V_SPELLING, score
    if na.script & KANJI and _variants_only(na.key, nb.key):
        return Outcome.CLOSE, Reason.VARIANT_KANJI, score
    if _part_omitted(na.tokens, nb.tokens) or _name_within(nb.tokens, na.tokens):
        # Which side has the words the other lacks: the resident's (the account's name
        # shortened) or the account's (a trade name, a former name in brackets, ジュニア).
        if len(nb.tokens) > len(na.tokens):
            return Outcome.CLOSE, Reason.NAME_PART_ADDED, score
        return Outcome.CLOSE, Reason.NAME_PART_OMITTED, score
    family_equal, given_equal = _parts_equal(na.tokens, nb.tokens)
    if family_equal or given_equal:
        # One whole part differs: never a match, whatever the score (brothers タロウ/ジロウ).
        reason = Reason.GIVEN_NAME_DIFFERS if family_equal else Reason.FAMILY_NAME_DIFFERS
        outcome = Outcome.CLOSE if score >= CLOSE_THRESHOLD else Outcome.NO_MATCH
    elif score >= MATCH_THRESHOLD:
        outcome, reason = Outcome.MATCH, Reason.MINOR_TYPO
    elif score >= CLOSE_THRESHOLD:
        outcome, reason = Outcome.CLOSE, Reason.MINOR_TYPO
    else:
        outcome, reason = Outcome.NO_MATCH, Reason.DIFFERENT
    if outcome is not Outcome.MATCH and _kana_spelling_only(na, nb):
        # Last, for a name not matched: one the score would block is close, and one close
        # because "a part differs" says what differs, the spelling of a sound only (ヤマダ
        # タロウ against ﾔﾏﾀﾞ ﾀﾛｰ said "the given name differs (a family member's account?)").
        # A match keeps its reason (and check_batch looks at its few other pairs only).
        return Outcome.CLOSE, Reason.KANA_SPELLING, score
    return outcome, reason, score


def _display(outcome: Outcome, account: str | None) -> str | None:
    """The account name shown to staff and resident: only for a close match."""
    return account.strip() if outcome is Outcome.CLOSE and isinstance(account, str) else None


def _compare(resident: str, account: str | None, na: Normalised, nb: Normalised) -> NameCheckResult:
    outcome, reason, score = _decide(na, nb, resident == account)
    return _make(outcome, reason, score, na.text, nb.text, _display(outcome, account))


def _analyse_account(account: str | None) -> Normalised:
    return analyse(account if isinstance(account, str) else "")


def check(resident_kana: str, account_name: str | None) -> NameCheckResult:
    """Compare the resident's kana name with the account holder's name.

    ``account_name`` is ``None`` (or blank) when the provider gave no name: the outcome is
    ``unavailable``, which callers treat as ``close``.
    """
    return _compare(
        resident_kana, account_name, analyse(resident_kana), _analyse_account(account_name)
    )


def check_many(pairs: Iterable[tuple[str, str | None]]) -> list[NameCheckResult]:
    """Check many (resident, account) pairs; the same results as ``check`` for each pair.

    Builds one ``NameCheckResult`` per distinct raw pair (shared by equal pairs, results are
    immutable). Scans that need only the codes should call ``check_batch``, which this
    delegates to, and skip the objects.
    """
    from madoguchi.namecheck.batch import check_batch  # batch imports this module

    residents: list[str] = []
    accounts: list[str | None] = []
    for resident, account in pairs:
        residents.append(resident)
        accounts.append(account)
    # The results are acyclic; pausing the cyclic collector saves its repeated passes over
    # a million fresh objects.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return check_batch(residents, accounts).results()
    finally:
        if collecting:
            gc.enable()
