"""Normalisation of Japanese names to one canonical katakana form.

The canonical form is full-width katakana (plus A-Z, 0-9 and kanji, which are kept), with
large kana only, one long-vowel mark (ー), single ASCII spaces between name parts, and no
honorifics or legal-form abbreviations. Variant kanji (髙/高, 﨑/崎, 齋/斎/斉) are deliberately
NOT folded: they are different characters in the family register. Nor are the CJK
compatibility ideographs (U+FA10, U+FA19 …), which NFKC would fold into their unified
forms (塚 U+585A, 神 U+795E): ``_nfkc`` keeps them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Normalised", "analyse", "clear_caches", "normalise"]

# Script flags of a normalised name.
KANA = 1
LATIN = 2
KANJI = 4
OTHER = 8

_DASH = "\x00"  # placeholder for every dash/long-vowel variant until its context is known
# The ASCII hyphen-minus (and ＝'s full-width twin －, which NFKC makes it): in Zengin data the
# long vowel (ｼﾞﾖ-ｼﾞ, ｽ-ﾊﾟ-) and, between two words, a separator (ﾔﾏﾀﾞ-ﾀﾛｳ). Read as the other
# dashes are; a name with one between two kana also keeps the reading with it as a space
# (``Normalised.hyphens_as_spaces``), which the comparison uses only where the other name has
# a word boundary there.
_HYPHEN = "\x01"

# Before NFKC: the standalone voiced marks ゛゜ decompose under NFKC into a space plus the
# combining mark, which would split カ゛ into two tokens. Turn them into the combining marks.
_PRE_NFKC = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})

_DASHES = (
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b"
    "\u2500\u2501\u30fc\uff70\u301c\u3030~\uff5e\u2053"
)


def _build_main_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Hiragana → katakana (ぁ..ゖ → ァ..ヶ, including ゔ → ヴ).
    for cp in range(0x3041, 0x3097):
        table[cp] = chr(cp + 0x60)
    table[0x309D] = "\u30fd"  # ゝ → ヽ
    table[0x309E] = "\u30fe"  # ゞ → ヾ
    table[0x309F] = "ヨリ"  # ゟ
    table[0x30FF] = "コト"  # ヿ
    # ワ゛ヰ゛ヱ゛ヲ゛ are written ヴァ ヴィ ヴェ ヴォ in bank names.
    table[0x30F7] = "ヴァ"
    table[0x30F8] = "ヴィ"
    table[0x30F9] = "ヴェ"
    table[0x30FA] = "ヴォ"
    for ch in _DASHES:
        table[ord(ch)] = _DASH
    table[ord("-")] = _HYPHEN
    # Combining voiced marks left over after NFKC sit on a letter that has no voiced form.
    table[0x3099] = None
    table[0x309A] = None
    # Zero-width and formatting characters.
    for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD):
        table[cp] = None
    for cp in range(ord("a"), ord("z") + 1):
        table[cp] = chr(cp - 32)
    # Punctuation separates words in bank and card names (Zengin allows ( ) . / , and 「」);
    # parentheses are kept until the legal forms have been found. The middle dots and double
    # hyphens a foreign name's parts are written with (ジョン・スミス, ジョン＝スミス) in every
    # form an IME or a copied text gives them: ・ ･ (NFKC makes it ・), · ‧ ∙ ⋅ ⸱ •, ＝ and ゠.
    for (
        ch
    ) in "[]{}「」『』【】・.,/\\'\"`_、。:;!?*&+=#@|<>\u00b7\u2022\u2027\u2219\u22c5\u2e31\u30a0":
        table[ord(ch)] = " "
    # Control characters become spaces (tabs, newlines) so they separate words (the
    # placeholders above are never read from the input).
    for cp in range(0x00, 0x20):
        table[cp] = " "
    table[0x7F] = " "
    return table


_MAIN = _build_main_table()

_SMALL_TO_LARGE = str.maketrans(
    "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ",
    "アイウエオツヤユヨワカケクシストヌハヒフヘホムラリルレロ",
)


_KATA = "\u30a1-\u30fa\u30fc"
_IDEOGRAPH = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3006\U00020000-\U0003134f"
_DASH_AFTER_KANA = re.compile(f"(?<=[{_KATA}])\x00+")
_HYPHEN_BETWEEN_KANA = re.compile(f"(?<=[{_KATA}])\x01(?=[{_KATA}])")
_ITERATION = re.compile("(.)([\u30fd\u30fe]+)")
_KANJI_RE = re.compile(f"[{_IDEOGRAPH}]")
# Variation selectors: the ideographic ones (VS17-VS256, U+E0100-U+E01EF: 葛 and U+E0100, the
# family register's glyph as Unicode writes it, an IVS) and the standardized VS1-VS16
# (U+FE00-U+FE0F: 塚 and U+FE00). After a kanji a selector is part of it (a variant kanji,
# never folded); anywhere else it selects nothing and is removed, as zero-width characters are.
SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_HAS_SELECTOR = re.compile(f"[{SELECTORS}]")
_STRAY_SELECTOR = re.compile(f"(?<![{_IDEOGRAPH}])[{SELECTORS}]+")
_KANJI_OR_SELECTOR = re.compile(f"[{_IDEOGRAPH}{SELECTORS}]")
# 一 (the kanji "one") typed by an IME in place of ー, between katakana (not one written with a
# variation selector: that is the kanji).
_ONE_AS_DASH = re.compile(f"(?<=[{_KATA}])一(?![{_IDEOGRAPH}{SELECTORS}])")
_KANA_ONLY = re.compile(f"[{_KATA}]+")
_HAS_SMALL = re.compile("[ァィゥェォッャュョヮヵヶ\u31f0-\u31ff]")
# Cheap test before the legal-form regex: every legal form has parentheses or one of these.
_MAY_BE_LEGAL = re.compile("[()]|会社|法人|ガイシヤ|カイシヤ|ホウジン")

# The legal forms, each under the one name of its kind: 株式会社 as ｶ), (株), 株式会社 or
# カブシキガイシャ is one kind, 有限会社 another (株式会社ヤマダ and 有限会社ヤマダ are two companies).
# Zengin abbreviations (after small-kana folding: シャ is held as シヤ).
_LEGAL_ABBREVIATIONS = {
    "カ": "株式会社",
    "ユ": "有限会社",
    "メ": "合名会社",
    "シ": "合資会社",
    "ド": "合同会社",
    "ソ": "相互会社",
    "イ": "医療法人",
    "ザイ": "財団法人",
    "シヤ": "社団法人",
    "シユウ": "宗教法人",
    "ガク": "学校法人",
    "フク": "社会福祉法人",
    "ホゴ": "更生保護法人",
    "トクヒ": "特定非営利活動法人",
    "ドク": "独立行政法人",
    "チドク": "地方独立行政法人",
    "ベン": "弁護士法人",
    "チユウ": "中間法人",
    "ギヨ": "行政書士法人",  # the Zengin table's spelling
    "ギヨウ": "行政書士法人",
    "シホウ": "司法書士法人",
    "ゼイ": "税理士法人",
    "ダイ": "大学法人",  # 国立・公立大学法人
    "ノウ": "農事組合法人",
    "カンリ": "管理組合法人",
    "ロウム": "社会保険労務士法人",
    "カンサ": "監査法人",
    "セイキヨウ": "生活協同組合",
    "キヨウクミ": "協同組合",
    "レン": "連合会",
}
_LEGAL_WORDS = {
    "株式会社": "株式会社",
    "有限会社": "有限会社",
    "合名会社": "合名会社",
    "合資会社": "合資会社",
    "合同会社": "合同会社",
    "相互会社": "相互会社",
    # Zengin writes every 医療法人 ｲ) (社団, 財団, 社会医療法人), every 財団法人 ｻﾞｲ) and
    # every 社団法人 ｼﾔ) (一般 or 公益): each is one kind here, however it is written.
    "医療法人社団": "医療法人",
    "医療法人財団": "医療法人",
    "社会医療法人": "医療法人",
    "医療法人": "医療法人",
    "一般財団法人": "財団法人",
    "公益財団法人": "財団法人",
    "財団法人": "財団法人",
    "一般社団法人": "社団法人",
    "公益社団法人": "社団法人",
    "社団法人": "社団法人",
    "宗教法人": "宗教法人",
    "学校法人": "学校法人",
    "社会福祉法人": "社会福祉法人",
    "特定非営利活動法人": "特定非営利活動法人",
    "独立行政法人": "独立行政法人",
    "地方独立行政法人": "地方独立行政法人",
    "更生保護法人": "更生保護法人",
    "行政書士法人": "行政書士法人",
    "司法書士法人": "司法書士法人",
    "国立大学法人": "大学法人",
    "公立大学法人": "大学法人",
    "農事組合法人": "農事組合法人",
    "管理組合法人": "管理組合法人",
    "社会保険労務士法人": "社会保険労務士法人",
    "有限責任中間法人": "中間法人",
    "無限責任中間法人": "中間法人",
    "弁護士法人": "弁護士法人",
    "税理士法人": "税理士法人",
    "監査法人": "監査法人",
    "カブシキガイシヤ": "株式会社",
    "カブシキカイシヤ": "株式会社",
    "ユウゲンガイシヤ": "有限会社",
    "ユウゲンカイシヤ": "有限会社",
    "ゴウドウガイシヤ": "合同会社",
    "ゴウドウカイシヤ": "合同会社",
    "ゴウシガイシヤ": "合資会社",
    "ゴウメイガイシヤ": "合名会社",
    "ソウゴガイシヤ": "相互会社",
    "ソウゴカイシヤ": "相互会社",
    "ゴウシカイシヤ": "合資会社",
    "ゴウメイカイシヤ": "合名会社",
    # In kana as the kanji are read, after small-kana folding (イリョウ as イリヨウ, イッパン
    # as イツパン, ガッコウ as ガツコウ): the whole form, or its tail is left as a word
    # (イリョウホウジンシャダン left シヤダン).
    "イリヨウホウジンシヤダン": "医療法人",
    "イリヨウホウジンザイダン": "医療法人",
    "シヤカイイリヨウホウジン": "医療法人",
    "イリヨウホウジン": "医療法人",
    "イツパンザイダンホウジン": "財団法人",
    "コウエキザイダンホウジン": "財団法人",
    "ザイダンホウジン": "財団法人",
    "イツパンシヤダンホウジン": "社団法人",
    "コウエキシヤダンホウジン": "社団法人",
    "シヤダンホウジン": "社団法人",
    "シユウキヨウホウジン": "宗教法人",
    "ガツコウホウジン": "学校法人",
    "シヤカイフクシホウジン": "社会福祉法人",
    "コウセイホゴホウジン": "更生保護法人",
    "トクテイヒエイリカツドウホウジン": "特定非営利活動法人",
    "チホウドクリツギヨウセイホウジン": "地方独立行政法人",
    "ドクリツギヨウセイホウジン": "独立行政法人",
    "ベンゴシホウジン": "弁護士法人",
    "ゼイリシホウジン": "税理士法人",
    "カンサホウジン": "監査法人",
    "NPOホウジン": "特定非営利活動法人",
    "NPO法人": "特定非営利活動法人",
}
_LEGAL_KANJI_SHORT = {
    "株": "株式会社",
    "有": "有限会社",
    "合": "合同会社",  # (合) is 合同会社's; a 合名 or 合資 written so is shown (close), not matched
    "同": "合同会社",
    "資": "合資会社",
    "名": "合名会社",
    "医": "医療法人",
    "財": "財団法人",
    "社": "社団法人",
    "学": "学校法人",
    "福": "社会福祉法人",
    "特非": "特定非営利活動法人",
    "独": "独立行政法人",
    "地独": "地方独立行政法人",
    "宗": "宗教法人",
    "一社": "社団法人",
    "公社": "社団法人",
    "一財": "財団法人",
    "公財": "財団法人",
}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ABBR = _alternation(_LEGAL_ABBREVIATIONS)
# Each alternative captures the form it found in its own group, which names its table.
_LEGAL_RE = re.compile(
    # prefix form ｶ)ﾔﾏﾀﾞ or (ｶ)ﾔﾏﾀﾞ, suffix form ﾔﾏﾀﾞ(ｶ or ﾔﾏﾀﾞ(ｶ), middle form (ｶ)
    f"^\\s*\\(?({_ABBR})\\)|\\(({_ABBR})\\)?(?=\\s*$)|\\(({_ABBR})\\)"
    f"|\\(({_alternation(_LEGAL_KANJI_SHORT)})\\)|({_alternation(_LEGAL_WORDS)})"
)
_LEGAL_GROUP_TABLES = (
    _LEGAL_ABBREVIATIONS,
    _LEGAL_ABBREVIATIONS,
    _LEGAL_ABBREVIATIONS,
    _LEGAL_KANJI_SHORT,
    _LEGAL_WORDS,
)


def _legal_form(match: re.Match[str]) -> str:
    """The kind (株式会社, 有限会社 …) of the legal form `match` found, however it was written."""
    group = match.lastindex or 0
    return _LEGAL_GROUP_TABLES[group - 1][match.group(group)]


_HONORIFIC_TOKENS = frozenset({"様", "殿", "御中", "サマ", "サン", "ドノ", "ゴチユウ"})
_HONORIFIC_SUFFIXES = ("様", "殿", "御中")
# Honorifics that are also words of names: サン (Sang, San, 燦), サマ (Samah, Sama), and 様,
# a kanji a kanji name may hold. Each is dropped only where it cannot be the name's word, in a
# script the rest of the name is not written in: サマ/サン after a name in Latin letters
# (SMITH JOHN ｻﾏ), 様 after a name in kana or Latin letters (ﾔﾏﾀﾞ ﾀﾛｳ 様, ヤマダタロウ様).
# In a kana name サン and サマ stay words: グエン ヴァン サン (Nguyen Van Sang) lost his サン
# and matched the account of ｸﾞｴﾝ ｳﾞｧﾝ; now the names differ by a word (NAME_PART_OMITTED).
_NAME_WORD_SCRIPT = {"サン": "kana", "サマ": "kana", "様": "kanji"}
_KANA_CHAR = re.compile(f"[{_KATA}]")


class Normalised(NamedTuple):
    """A name after normalisation, with the derived forms the comparison needs."""

    text: str
    """Canonical form: name parts separated by single spaces."""
    key: str
    """Canonical form without spaces."""
    rkey: str
    """The name in the other word order, without spaces: its first word (the family name,
    family-first) moved to the end (given-family ↔ family-given; JOHN MICHAEL SMITH for SMITH
    JOHN MICHAEL, whose other order moves the last word to the front: the comparison tries
    both names' ``rkey``)."""
    tokens: tuple[str, ...]
    unfolded: str
    """Like ``key`` but with small kana kept (tells SMALL_KANA_FOLDED apart)."""
    entity: bool
    """A legal-form word or abbreviation was found (the name is a company's, not a person's)."""
    script: int
    """Bit flags KANA | LATIN | KANJI | OTHER of the characters in ``key``."""
    legal_form: str
    """The kinds of the legal forms found, each by one name however written (株式会社 for ｶ),
    (株), カブシキガイシャ), in sorted order with a space between; empty for a person's name."""
    hyphens_as_spaces: Normalised | None
    """For a name with a hyphen-minus between two kana (ﾔﾏﾀﾞ-ﾀﾛｳ, read as ヤマダータロウ), the
    name read with each such hyphen as a space (ヤマダ タロウ); None for any other name."""


_new_normalised = tuple.__new__


def _voice(ch: str, voiced: bool) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    if not voiced:
        return base
    composed = unicodedata.normalize("NFC", base + "\u3099")
    return composed if len(composed) == 1 else base


def _expand_iteration(match: re.Match[str]) -> str:
    prev = match.group(1)
    out = [prev]
    for mark in match.group(2):
        out.append(_voice(prev, mark == "\u30fe"))
    return "".join(out).translate(_MAIN)


def _script(key: str) -> int:
    flags = 0
    for ch in key:
        if "\u30a1" <= ch <= "\u30fc":
            flags |= KANA
        elif ch.isascii() and ch.isalnum():
            flags |= LATIN
        elif _KANJI_OR_SELECTOR.match(ch):  # a selector is left only after a kanji
            flags |= KANJI
        else:
            flags |= OTHER
    return flags


def _not_a_name_word(honorific: str, rest: list[str]) -> bool:
    """Whether `honorific` at the end of the words `rest` cannot be a word of the name: サン,
    サマ and 様 are names' words too, unless the rest of the name is written in a script they
    are not (a kana word after Latin letters, a kanji after kana or Latin letters)."""
    script = _NAME_WORD_SCRIPT.get(honorific)
    if script is None:
        return True
    found = _KANA_CHAR if script == "kana" else _KANJI_RE
    return not any(found.search(word) for word in rest)


def _tokens_without_honorifics(text: str) -> list[str]:
    tokens = text.split()
    if "ー" in text:
        # A long-vowel mark cannot start a word (it only does after a cut: ｱｰ(ｶ)ｰ).
        tokens = [t for t in (t.lstrip("ー") for t in tokens) if t]
    if len(tokens) <= 2 and not (tokens and tokens[-1].endswith(_HONORIFIC_SUFFIXES)):
        return tokens
    changed = True
    while changed and tokens:
        changed = False
        # A trailing honorific word is dropped only when a full name (two parts) remains:
        # "リ サン" (李 燦) is a name, "ヤマダ タロウ ドノ" is a name plus an honorific; and
        # サン, サマ, 様 only where they cannot be the name's word (_NAME_WORD_SCRIPT).
        last = tokens[-1]
        if len(tokens) > 2 and last in _HONORIFIC_TOKENS and _not_a_name_word(last, tokens[:-1]):
            tokens.pop()
            changed = True
            continue
        for suffix in _HONORIFIC_SUFFIXES:
            if (
                last.endswith(suffix)
                and len(last) > len(suffix)
                and _not_a_name_word(suffix, [*tokens[:-1], last[: -len(suffix)]])
            ):
                tokens[-1] = last[: -len(suffix)]
                changed = True
                break
    return tokens


# CJK compatibility ideographs (U+FA10, U+FA19, U+FA26 …): NFKC (and NFC) maps each to its
# unified ideograph (塚 U+585A, 神 U+795E, 都 U+90FD), another character in the family register.
_COMPATIBILITY = "\uf900-\ufaff\U0002f800-\U0002fa1f"
_HAS_COMPATIBILITY = re.compile(f"[{_COMPATIBILITY}]")
_COMPATIBILITY_SPLIT = re.compile(f"([{_COMPATIBILITY}])")


def _nfkc(s: str) -> str:
    """NFKC, but with the CJK compatibility ideographs kept as they are (variant kanji, never
    folded). Exact: such an ideograph composes with nothing on either side, so NFKC of the text
    between them is NFKC of the whole."""
    if _HAS_COMPATIBILITY.search(s) is None:
        return unicodedata.normalize("NFKC", s)
    parts = _COMPATIBILITY_SPLIT.split(s)
    parts[::2] = [unicodedata.normalize("NFKC", part) for part in parts[::2]]
    return "".join(parts)


def _analyse(raw: str) -> Normalised:
    s = raw if isinstance(raw, str) else ""
    if "\u309b" in s or "\u309c" in s:
        s = s.translate(_PRE_NFKC)
    return _analyse_translated(_nfkc(s).translate(_MAIN))


_SMALL_KANA = "ァィゥェォッャュョヮヵヶ"
_LARGE_KATA = "".join(chr(c) for c in range(0x30A1, 0x30FB) if chr(c) not in _SMALL_KANA)
_PLAIN_NAME = re.compile(f"[{_LARGE_KATA}]+(?: [{_LARGE_KATA}]+)?")


def _plain(s: str) -> Normalised | None:
    """The result of ``_full`` for the commonest input, one or two words of large katakana
    with one space and no legal form (ヤマダ タロウ), computed directly; None for any other.

    Nothing in the full pipeline changes such a name: no iteration or voiced marks, dashes,
    一, small kana, parentheses, legal-form words or honorifics (a trailing word is dropped
    only after two words, and サマ/サン never after kana). tests/namecheck holds this equal to
    ``_full``.
    """
    if not _PLAIN_NAME.fullmatch(s) or _MAY_BE_LEGAL.search(s):
        return None
    tokens = tuple(s.split(" "))
    key = "".join(tokens)
    rkey = tokens[1] + tokens[0] if len(tokens) == 2 else key
    return _new_normalised(Normalised, (s, key, rkey, tokens, key, False, KANA, "", None))


@lru_cache(maxsize=1 << 16)
def _analyse_translated(s: str) -> Normalised:
    """The rest of the pipeline, memoised on its input: ﾔﾏﾀﾞ, やまだ and ヤマダ meet here, so
    the spellings of one name share the work and the same result object."""
    plain = _plain(s)
    return plain if plain is not None else _full(s)


def _full(s: str) -> Normalised:
    """The rest of the pipeline after NFKC and the translation table."""
    if "\u30fd" in s or "\u30fe" in s:
        s = _ITERATION.sub(_expand_iteration, s)
        s = s.replace("\u30fd", "").replace("\u30fe", "")
    if _HAS_SELECTOR.search(s):
        # A kanji keeps the selector right after it; every other selector goes.
        s = _STRAY_SELECTOR.sub("", s)
    if "一" in s:
        s = _ONE_AS_DASH.sub(_DASH, s)
    hyphens_as_spaces = None
    if _HYPHEN in s:
        spaced = _HYPHEN_BETWEEN_KANA.sub(" ", s)
        s = s.replace(_HYPHEN, _DASH)
        if spaced.count(" ") > s.count(" "):
            hyphens_as_spaces = _full(spaced.replace(_HYPHEN, _DASH))
    if _DASH in s:
        s = _DASH_AFTER_KANA.sub("ー", s).replace(_DASH, " ")
    folded = s.translate(_SMALL_TO_LARGE) if _HAS_SMALL.search(s) else s
    entity = False
    legal_form = ""
    if _MAY_BE_LEGAL.search(folded):
        # Folding is one character for one character, so spans found in the folded text cut
        # the unfolded text at the same places.
        found = list(_LEGAL_RE.finditer(folded))
        for match in reversed(found):
            start, end = match.span()
            folded = folded[:start] + " " + folded[end:]
            s = s[:start] + " " + s[end:]
        entity = bool(found)
        legal_form = " ".join(sorted({_legal_form(match) for match in found}))
        folded = folded.replace("(", " ").replace(")", " ")
        s = s.replace("(", " ").replace(")", " ")
        if found and _HAS_SELECTOR.search(folded):  # one after a legal form's kanji
            folded = _STRAY_SELECTOR.sub("", folded)
            s = _STRAY_SELECTOR.sub("", s)
    tokens = _tokens_without_honorifics(folded)
    key = "".join(tokens)
    unfolded = key if s is folded else "".join(_tokens_without_honorifics(s))
    return _new_normalised(
        Normalised,
        (
            " ".join(tokens),
            key,
            "".join(tokens[1:]) + tokens[0] if len(tokens) > 1 else key,
            tuple(tokens),
            unfolded,
            entity,
            KANA if _KANA_ONLY.fullmatch(key) else _script(key),
            legal_form,
            hyphens_as_spaces,
        ),
    )


analyse = lru_cache(maxsize=1 << 16)(_analyse)
"""Normalise one name and derive its comparison forms (memoised: names repeat)."""


def clear_caches() -> None:
    """Forget memoised names (benchmarks measure from cold)."""
    analyse.cache_clear()
    _analyse_translated.cache_clear()


def normalise(name: str) -> str:
    """The canonical katakana form of ``name`` (parts separated by one space)."""
    return analyse(name).text
