"""Outcomes and reason codes of the name check, with their display texts.

The texts are plain dicts so that this package stays free of Django; the desk pages pick
the language themselves.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the desk does next (modelled on UK Confirmation of Payee / EU Verification of Payee)."""

    MATCH = "match"
    """Link may go ahead; the account name is not shown."""
    CLOSE = "close"
    """Show the account name; the resident must confirm explicitly and staff tick a checklist item."""
    NO_MATCH = "no_match"
    """Blocked; only a documented exception (with the representative's own card) gets past."""
    UNAVAILABLE = "unavailable"
    """The provider returned no name; callers treat it as ``close``."""


class Reason(StrEnum):
    """Why the check gave its outcome; logged with the visit."""

    EXACT = "EXACT"
    EXACT_AFTER_NORMALISATION = "EXACT_AFTER_NORMALISATION"
    SMALL_KANA_FOLDED = "SMALL_KANA_FOLDED"
    SEPARATOR_DIFFERS = "SEPARATOR_DIFFERS"
    ORDER_SWAPPED = "ORDER_SWAPPED"
    MINOR_TYPO = "MINOR_TYPO"
    GIVEN_NAME_DIFFERS = "GIVEN_NAME_DIFFERS"
    FAMILY_NAME_DIFFERS = "FAMILY_NAME_DIFFERS"
    VARIANT_KANJI = "VARIANT_KANJI"
    DIFFERENT = "DIFFERENT"
    SCRIPT_MISMATCH = "SCRIPT_MISMATCH"
    LEGAL_ENTITY = "LEGAL_ENTITY"
    NAME_UNAVAILABLE = "NAME_UNAVAILABLE"
    RESIDENT_NAME_EMPTY = "RESIDENT_NAME_EMPTY"
    # Last, so that the codes of the others (their positions, `REASON_CODES`) stay as they were.
    V_SPELLING = "V_SPELLING"
    NAME_PART_OMITTED = "NAME_PART_OMITTED"
    KANA_SPELLING = "KANA_SPELLING"
    SPLIT_DIFFERS = "SPLIT_DIFFERS"
    LEGAL_FORM_DIFFERS = "LEGAL_FORM_DIFFERS"
    NAME_PART_ADDED = "NAME_PART_ADDED"


OUTCOME_TEXTS: dict[Outcome, dict[str, str]] = {
    Outcome.MATCH: {"ja": "一致", "en": "Match"},
    Outcome.CLOSE: {"ja": "類似（要確認）", "en": "Close match (confirm)"},
    Outcome.NO_MATCH: {"ja": "不一致", "en": "No match"},
    Outcome.UNAVAILABLE: {"ja": "照合不可（要確認）", "en": "Unavailable (confirm)"},
}

REASON_TEXTS: dict[Reason, dict[str, str]] = {
    Reason.EXACT: {
        "ja": "名義が完全に一致しました。",
        "en": "The names are identical.",
    },
    Reason.EXACT_AFTER_NORMALISATION: {
        "ja": "表記（全角・半角、ひらがな・カタカナ、濁点、長音、敬称、法人略語）をそろえると一致しました。",
        "en": "The names are equal once the writing is normalised (width, hiragana/katakana, voiced marks, long vowels, honorifics, legal forms).",
    },
    Reason.SMALL_KANA_FOLDED: {
        "ja": "小さい文字（ャュョッなど）を大きい文字として扱うと一致しました（口座名義は小文字を使えません）。",
        "en": "The names are equal once small kana (ャュョッ…) are read as large kana; bank names cannot hold small kana.",
    },
    Reason.SEPARATOR_DIFFERS: {
        "ja": "お名前の区切り（空白や「・」「＝」）の有無だけが異なり、一致しました。",
        "en": "Only a separator between the name's words (a space, ・ or ＝) is missing from "
        "one name where the other has it; the names match.",
    },
    Reason.ORDER_SWAPPED: {
        "ja": "姓と名の順序を入れ替えると一致しました。",
        "en": "The names match with family and given name in the other order.",
    },
    Reason.MINOR_TYPO: {
        "ja": "名義がわずかに異なります（入力誤りの可能性）。口座名義を本人に確認してください。",
        "en": "The names differ slightly (possibly a typing error). Confirm the account name with the resident.",
    },
    Reason.GIVEN_NAME_DIFFERS: {
        "ja": "姓は一致しますが、名が異なります（ご家族名義の口座の可能性があります）。",
        "en": "The family name matches but the given name differs (the account may belong to a family member).",
    },
    Reason.FAMILY_NAME_DIFFERS: {
        "ja": "名は一致しますが、姓が異なります（旧姓のままの口座、または別人の可能性があります）。",
        "en": "The given name matches but the family name differs (an account in a former name, or another person).",
    },
    Reason.VARIANT_KANJI: {
        "ja": "異体字（髙と高、﨑と崎など）だけが異なります。同一とはみなしません。本人に確認してください。",
        "en": "Only variant kanji differ (髙/高, 﨑/崎 …). They are not treated as equal; confirm with the resident.",
    },
    Reason.DIFFERENT: {
        "ja": "名義が一致しません。別の方の口座の可能性があります。",
        "en": "The names do not match; the account may belong to someone else.",
    },
    Reason.SCRIPT_MISMATCH: {
        "ja": "漢字（またはローマ字）とカナのため機械では照合できません。口座名義を目で確認してください。",
        "en": "Kanji (or Latin) against kana cannot be compared by machine; check the account name by eye.",
    },
    Reason.LEGAL_ENTITY: {
        "ja": "口座が法人名義（株式会社など）で、個人の名義と一致しません。",
        "en": "The account is held by a legal entity (a company etc.) and cannot match a person's name.",
    },
    Reason.NAME_UNAVAILABLE: {
        "ja": "口座名義を取得できませんでした。口座名義を本人に確認してください。",
        "en": "The provider gave no account name. Confirm the account holder with the resident.",
    },
    Reason.RESIDENT_NAME_EMPTY: {
        "ja": "来庁者のフリガナが入力されていないため照合できません。",
        "en": "The resident's kana name is empty, so nothing can be compared.",
    },
    Reason.V_SPELLING: {
        "ja": "「ヴ」と「ブ」の書き分け（ヴァンとバン、ヴィとビなど）だけが異なります。"
        "口座名義を本人に確認してください（ヴを使えない口座名義があります）。",
        "en": "Only ヴ written as ブ (ヴァン/バン, ヴィ/ビ …) differs; some bank names cannot hold ヴ. "
        "Confirm the account name with the resident.",
    },
    Reason.NAME_PART_OMITTED: {
        "ja": "一方のお名前の一部（ミドルネームなど）が、もう一方にありません（長いお名前を省略した口座名義の可能性があります）。"
        "口座名義を本人に確認してください。",
        "en": "Part of one name (a middle name, say) is missing from the other (the account may "
        "hold a long name shortened). Confirm the account name with the resident.",
    },
    Reason.NAME_PART_ADDED: {
        "ja": "口座名義に、ご本人のお名前にない部分（屋号、かっこ書きの旧姓、ミドルネームなど）があります。"
        "口座名義を本人に確認してください。",
        "en": "The account's name has parts the resident's name does not (a trade name, a former "
        "name in brackets, a middle name, say). Confirm the account name with the resident.",
    },
    Reason.KANA_SPELLING: {
        "ja": "同じ読みのカナの書き方（長音の「ー」と「ウ」「オ」など（オオノとオーノ、ユウとユー）、"
        "「ヂ」と「ジ」、「ヅ」と「ズ」）だけが異なります。口座名義を本人に確認してください。",
        "en": "Only the kana spelling of one sound differs (a long vowel as ー or as its vowel: "
        "オオノ/オーノ, ユウ/ユー; ヂ/ジ, ヅ/ズ). Confirm the account name with the resident.",
    },
    Reason.SPLIT_DIFFERS: {
        "ja": "同じカナですが、姓と名の区切り（空白）の位置が異なるか、区切りのないまま順序が入れ替わっています。"
        "別の方のお名前の可能性があります（モリ タカコとモリタ カコなど）。口座名義を本人に確認してください。",
        "en": "The same kana, but split into family and given name at another place, or in "
        "another order with no space to say where the names part; they may be two people's "
        "(モリ タカコ / モリタ カコ). Confirm the account name with the resident.",
    },
    Reason.LEGAL_FORM_DIFFERS: {
        "ja": "法人の種類（株式会社と有限会社など）が異なります。別の法人の口座の可能性があります。"
        "口座名義を本人に確認してください。",
        "en": "The legal form differs (株式会社 / 有限会社 …): the account may be another "
        "company's. Confirm the account name with the resident.",
    },
}


# What was compared differs by programme: an account's holder (a payment service's or a bank's),
# or (health insurance) the insured person's name on the insurer's record, which no account
# holds. `INSURED` reasons replace those whose sentence speaks of an account.
ACCOUNT = "account"
INSURED = "insured"

INSURED_REASON_TEXTS: dict[Reason, dict[str, str]] = {
    Reason.SMALL_KANA_FOLDED: {
        "ja": "小さい文字（ャュョッなど）を大きい文字として扱うと一致しました（保険者の記録は小文字を使わないことがあります）。",
        "en": "The names are equal once small kana (ャュョッ…) are read as large kana; the insurer's record may not hold small kana.",
    },
    Reason.MINOR_TYPO: {
        "ja": "お名前がわずかに異なります（入力誤りの可能性）。保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "The names differ slightly (possibly a typing error). Confirm the insured person's name on the insurer's record with the resident.",
    },
    Reason.GIVEN_NAME_DIFFERS: {
        "ja": "姓は一致しますが、名が異なります（ご家族の保険の記録の可能性があります）。",
        "en": "The family name matches but the given name differs (the insurer's record may be a family member's).",
    },
    Reason.FAMILY_NAME_DIFFERS: {
        "ja": "名は一致しますが、姓が異なります（旧姓のままの保険の記録、または別人の可能性があります）。",
        "en": "The given name matches but the family name differs (the insurer's record may be in a former name, or another person's).",
    },
    Reason.DIFFERENT: {
        "ja": "お名前が一致しません。別の方の保険の記録の可能性があります。",
        "en": "The names do not match; the insurer's record may be someone else's.",
    },
    Reason.SCRIPT_MISMATCH: {
        "ja": "漢字（またはローマ字）とカナのため機械では照合できません。保険者の記録にある被保険者のお名前を目で確認してください。",
        "en": "Kanji (or Latin) against kana cannot be compared by machine; check the insured person's name on the insurer's record by eye.",
    },
    Reason.LEGAL_ENTITY: {
        "ja": "保険者の記録のお名前が法人名（株式会社など）で、個人のお名前と一致しません。",
        "en": "The insurer's record names a legal entity (a company etc.), which cannot match a person's name.",
    },
    Reason.NAME_UNAVAILABLE: {
        "ja": "保険者の記録から被保険者のお名前を取得できませんでした。被保険者のお名前を本人に確認してください。",
        "en": "The insurer's record gave no insured person's name. Confirm the insured person's name with the resident.",
    },
    Reason.V_SPELLING: {
        "ja": "「ヴ」と「ブ」の書き分け（ヴァンとバン、ヴィとビなど）だけが異なります。"
        "保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "Only ヴ written as ブ (ヴァン/バン, ヴィ/ビ …) differs. Confirm the insured person's "
        "name on the insurer's record with the resident.",
    },
    Reason.NAME_PART_OMITTED: {
        "ja": "一方のお名前の一部（ミドルネームなど）が、もう一方にありません（保険者の記録が長いお名前を省略している可能性があります）。"
        "保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "Part of one name (a middle name, say) is missing from the other (the insurer's "
        "record may hold a long name shortened). Confirm the insured person's name on the "
        "insurer's record with the resident.",
    },
    Reason.NAME_PART_ADDED: {
        "ja": "保険者の記録にあるお名前に、ご本人のお名前にない部分（かっこ書きの旧姓、ミドルネームなど）があります。"
        "保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "The name on the insurer's record has parts the resident's name does not (a former "
        "name in brackets, a middle name, say). Confirm the insured person's name on the "
        "insurer's record with the resident.",
    },
    Reason.KANA_SPELLING: {
        "ja": "同じ読みのカナの書き方（長音の「ー」と「ウ」「オ」など（オオノとオーノ、ユウとユー）、"
        "「ヂ」と「ジ」、「ヅ」と「ズ」）だけが異なります。"
        "保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "Only the kana spelling of one sound differs (a long vowel as ー or as its vowel: "
        "オオノ/オーノ, ユウ/ユー; ヂ/ジ, ヅ/ズ). Confirm the insured person's name on the "
        "insurer's record with the resident.",
    },
    Reason.SPLIT_DIFFERS: {
        "ja": "同じカナですが、姓と名の区切り（空白）の位置が異なるか、区切りのないまま順序が入れ替わっています。"
        "別の方のお名前の可能性があります（モリ タカコとモリタ カコなど）。"
        "保険者の記録にある被保険者のお名前を本人に確認してください。",
        "en": "The same kana, but split into family and given name at another place, or in "
        "another order with no space to say where the names part; they may be two people's "
        "(モリ タカコ / モリタ カコ). Confirm the insured person's name on the insurer's record "
        "with the resident.",
    },
    Reason.LEGAL_FORM_DIFFERS: {
        "ja": "法人の種類（株式会社と有限会社など）が異なります。別の法人の記録の可能性があります。"
        "保険者の記録にあるお名前を本人に確認してください。",
        "en": "The legal form differs (株式会社 / 有限会社 …): the insurer's record may be another "
        "company's. Confirm the name on the insurer's record with the resident.",
    },
}


# What the resident's own page says where the desk's sentence is staff's (the normalisation's
# terms, or an instruction to check with the resident): what was compared, in plain words.
RESIDENT_REASON_TEXTS: dict[Reason, dict[str, str]] = {
    Reason.EXACT_AFTER_NORMALISATION: {
        "ja": "口座の名義とあなたのお名前（フリガナ）を比べ、一致しました。"
        "全角・半角、ひらがな・カタカナ、濁点や長音の書き方、「様」などの小さな違いは区別していません。",
        "en": "The account's name was compared with your name (in kana) and they match. "
        "Small differences in writing (character width, hiragana or katakana, voiced marks, "
        "long vowels, a title such as 様) are not counted.",
    },
    Reason.MINOR_TYPO: {
        "ja": "口座の名義とあなたのお名前（フリガナ）がわずかに異なりました（入力の誤りの可能性があります）。",
        "en": "The account's name differs slightly from your name in kana (possibly a typing error).",
    },
    Reason.VARIANT_KANJI: {
        "ja": "口座の名義とあなたのお名前は、字体の違い（髙と高、﨑と崎など）だけが異なりました。"
        "同じ名前とはみなしていません。",
        "en": "The account's name and yours differ only in a kanji's form (髙/高, 﨑/崎 …); "
        "they are not treated as the same name.",
    },
    Reason.SCRIPT_MISMATCH: {
        "ja": "口座の名義が漢字（またはローマ字）で書かれていて、フリガナと機械では比べられませんでした。",
        "en": "The account's name is written in kanji (or Latin letters), so it could not be "
        "compared with your name in kana by machine.",
    },
    Reason.NAME_UNAVAILABLE: {
        "ja": "口座の名義を受け取れなかったため、お名前と比べられませんでした。",
        "en": "The account's name could not be obtained, so it was not compared with yours.",
    },
    Reason.RESIDENT_NAME_EMPTY: {
        "ja": "お名前のフリガナが入力されていなかったため、口座の名義と比べられませんでした。",
        "en": "Your name in kana was not entered, so the account's name was not compared with it.",
    },
    Reason.V_SPELLING: {
        "ja": "口座の名義とあなたのお名前（フリガナ）は、「ヴ」と「ブ」の書き分け（ヴァンとバンなど）"
        "だけが異なりました。",
        "en": "The account's name and your name in kana differ only in ヴ written as ブ "
        "(ヴァン/バン …).",
    },
    Reason.NAME_PART_OMITTED: {
        "ja": "口座の名義とあなたのお名前（フリガナ）は、一方にお名前の一部（ミドルネームなど）がない"
        "ことだけが異なりました。",
        "en": "The account's name and your name in kana differ only in part of the name (a "
        "middle name, say) missing from one of them.",
    },
    Reason.NAME_PART_ADDED: {
        "ja": "口座の名義には、あなたのお名前（フリガナ）にない部分（屋号、かっこ書きの旧姓、"
        "ミドルネームなど）がありました。",
        "en": "The account's name has parts your name in kana does not (a trade name, a former "
        "name in brackets, a middle name, say).",
    },
    Reason.KANA_SPELLING: {
        "ja": "口座の名義とあなたのお名前（フリガナ）は、同じ読みのカナの書き方（オオノとオーノ、"
        "ユウとユー、ヂとジなど）だけが異なりました。",
        "en": "The account's name and your name in kana differ only in how one sound is "
        "spelled in kana (オオノ/オーノ, ユウ/ユー, ヂ/ジ …).",
    },
    Reason.SPLIT_DIFFERS: {
        "ja": "口座の名義とあなたのお名前（フリガナ）は同じカナですが、姓と名の分かれ目（空白の位置）や"
        "順序が異なりました（モリ タカコとモリタ カコは別の方のお名前です）。",
        "en": "The account's name and your name in kana are the same kana, but split into family "
        "and given name at another place or in another order (モリ タカコ and モリタ カコ are two "
        "people's names).",
    },
    Reason.LEGAL_FORM_DIFFERS: {
        "ja": "口座の名義とお名前は、法人の種類（株式会社と有限会社など）が異なりました。",
        "en": "The account's name and the name compared differ in the legal form (株式会社 / "
        "有限会社 …).",
    },
}


def outcome_text(outcome: Outcome, lang: str = "ja") -> str:
    """Display text of an outcome; Japanese unless ``lang`` is ``"en"``."""
    texts = OUTCOME_TEXTS[outcome]
    return texts.get(lang, texts["ja"])


def reason_text(reason: Reason, lang: str = "ja", subject: str = ACCOUNT) -> str:
    """Display text of a reason code; Japanese unless ``lang`` is ``"en"``. `subject` says
    what was compared: an account's holder (`ACCOUNT`) or an insurer's record (`INSURED`)."""
    texts = (INSURED_REASON_TEXTS.get(reason) if subject == INSURED else None) or REASON_TEXTS[
        reason
    ]
    return texts.get(lang, texts["ja"])


# What the resident's own page says of an outcome: the desk's words tell staff what to do
# (類似（要確認）, 照合不可（要確認）), and a resident who confirmed the name at the desk long ago
# read 「類似（要確認）」 as something still asked of them.
RESIDENT_OUTCOME_TEXTS: dict[Outcome, dict[str, str]] = {
    Outcome.MATCH: {"ja": "一致", "en": "Match"},
    Outcome.CLOSE: {"ja": "類似（完全には一致しません）", "en": "Close (not identical)"},
    Outcome.NO_MATCH: {"ja": "不一致", "en": "No match"},
    Outcome.UNAVAILABLE: {"ja": "照合できませんでした", "en": "Not compared"},
}


def resident_outcome_text(outcome: Outcome, lang: str = "ja") -> str:
    """What the resident's own page says of an outcome; Japanese unless ``lang`` is ``"en"``."""
    texts = RESIDENT_OUTCOME_TEXTS[outcome]
    return texts.get(lang, texts["ja"])


def resident_reason_text(reason: Reason, lang: str = "ja") -> str:
    """What the resident's own page says of a reason code (the desk's sentence where it is
    already plain); Japanese unless ``lang`` is ``"en"``."""
    texts = RESIDENT_REASON_TEXTS.get(reason) or REASON_TEXTS[reason]
    return texts.get(lang, texts["ja"])


# What a no-match adds after saying the names do not match, where the reason's own sentence
# opens by saying it again (plainly different names).
_NO_MATCH_ADDS: dict[str, dict[Reason, dict[str, str]]] = {
    ACCOUNT: {
        Reason.DIFFERENT: {
            "ja": "別の方の口座の可能性があります。",
            "en": "The account may belong to someone else.",
        },
    },
    INSURED: {
        Reason.DIFFERENT: {
            "ja": "別の方の保険の記録の可能性があります。",
            "en": "The insurer's record may be someone else's.",
        },
    },
}


def no_match_reason_text(reason: Reason, lang: str = "ja", subject: str = ACCOUNT) -> str:
    """A no-match's reason as said after "the names do not match": the reason's own sentence,
    or for plainly different names only what it adds (said once, not twice). `subject` as for
    `reason_text`."""
    texts = _NO_MATCH_ADDS[subject].get(reason)
    if texts is None:
        return reason_text(reason, lang, subject)
    return texts.get(lang, texts["ja"])
