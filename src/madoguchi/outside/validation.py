"""Input normalisation shared by the clients and the simulators.

Staff type numbers from paper and phones: full-width digits, spaces and hyphens are common.
We normalise those, then refuse anything still malformed before it leaves the building.
"""

from __future__ import annotations

import re
import unicodedata

from madoguchi.outside.errors import InvalidRequest, System
from madoguchi.outside.interfaces import BankAccountType

# Hyphens and dashes as they are typed or pasted between groups of digits (0113-0012): ASCII,
# the hyphen and non-breaking hyphen, figure, en and em dashes, the horizontal bar, the minus
# sign, full-width hyphen-minus and the long-vowel mark an IME gives for "-" (NFKC has already
# made half-width ｰ full-width).
_SEPARATORS = re.compile("[\\s\\-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0dー]")


KEPT_LENGTH = 100
"""The most characters of a name or reference from an outside system that our records hold
(the columns of `benefits.models`: account_holder_kana, bank_name, insured_name_kana,
account_ref, registration_ref … are 100 long)."""
# C0 and C1 control characters (NUL, line breaks, DEL) and lone surrogates (JSON's "\ud800"):
# PostgreSQL holds no NUL in text or jsonb, UTF-8 no surrogate, a name neither.
_UNKEEPABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def unkeepable(value: str) -> str | None:
    """Why our records cannot keep `value`, a text an outside system answered: "control" (a
    control character or a lone surrogate), "length" (over `KEPT_LENGTH`), or None. The one
    rule of the HTTP clients (`clients._Fields`) and of the outbox, for any adapter."""
    if _UNKEEPABLE.search(value):
        return "control"
    if len(value) > KEPT_LENGTH:
        return "length"
    return None


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))


def _invalid(system: System, ja: str, en: str) -> InvalidRequest:
    return InvalidRequest(system=system, detail_ja=ja, detail_en=en)


def payment_service_id(value: str) -> str:
    v = _compact(value)
    if not re.fullmatch(r"[0-9A-Za-z]{8,32}", v):
        raise _invalid(
            System.PAYMENT_PROVIDER,
            "決済サービスIDは英数字8〜32文字です",
            "a payment service ID is 8 to 32 letters or digits",
        )
    return v


def security_code(value: str) -> str:
    v = _compact(value)
    if not re.fullmatch(r"[0-9]{3,4}", v):
        raise _invalid(
            System.PAYMENT_PROVIDER,
            "セキュリティコードは数字3〜4桁です",
            "a security code is 3 or 4 digits",
        )
    return v


def _digits(
    value: str, lengths: tuple[int, ...], pad: int | None, system: System, ja: str, en: str
) -> str:
    v = _compact(value)
    if pad is not None and v.isdigit() and len(v) < pad:
        v = v.zfill(pad)
    if not (v.isascii() and v.isdigit() and len(v) in lengths):
        raise _invalid(system, ja, en)
    return v


def bank_code(value: str) -> str:
    return _digits(
        value, (4,), None, System.BANK, "金融機関コードは数字4桁です", "a bank code is 4 digits"
    )


def branch_code(value: str) -> str:
    return _digits(
        value, (3,), None, System.BANK, "支店コードは数字3桁です", "a branch code is 3 digits"
    )


def account_number(value: str) -> str:
    return _digits(
        value,
        (7,),
        7,
        System.BANK,
        "口座番号は数字7桁以内です",
        "an account number is up to 7 digits",
    )


def account_type(value: str) -> str:
    """A deposit type, `BankAccountType`'s value: ordinary (普通), current (当座), savings (貯蓄)."""
    try:
        return BankAccountType(str(value).strip()).value
    except ValueError:
        raise _invalid(
            System.BANK,
            "預金種目は普通・当座・貯蓄のいずれかです",
            "an account type is ordinary, current or savings",
        ) from None


JAPAN_POST_BANK = "9900"
"""ゆうちょ銀行's bank code. Its passbooks give the account as 記号 (5 digits) and 番号, not
as a branch and an account number."""


def japan_post_bank_account(
    bank: str, branch: str, account_type: str, number: str
) -> tuple[str, str]:
    """The branch code and account number a transfer uses for an account of ゆうちょ銀行
    typed as its passbook shows it, 記号 and 番号; any other account (and one of ゆうちょ
    typed with its 3-digit branch already) as typed.

    ゆうちょ銀行's published rule: an ordinary account (通常貯金, 記号 1xxxx, 番号 of up to 8
    digits ending in 1) is branch 記号's 2nd and 3rd digits + 8, account number 番号 without its
    last digit; a transfer account (振替口座, 記号 0xxxx, 番号 of up to 6 digits) is branch
    記号's 2nd and 3rd digits + 9, current (当座), account number 番号. 12340-12345671 is
    branch 238, ordinary, 1234567."""
    symbol = _compact(branch)
    if _compact(bank) != JAPAN_POST_BANK:
        return branch, number
    if symbol.isascii() and symbol.isdigit() and len(symbol) not in (3, 5):
        # A 記号 typed a digit short (1023) was refused as "a branch code is 3 digits", beside
        # the field's hint that a 5-digit 記号 may be typed: both ways are named.
        raise _invalid(
            System.BANK,
            "ゆうちょ銀行は、支店コード（数字3桁）か、通帳の記号（数字5桁）を入力してください",
            "for ゆうちょ銀行, give the branch code (3 digits) or the passbook's 記号 (5 digits)",
        )
    if not (symbol.isascii() and len(symbol) == 5):
        return branch, number
    serial = _compact(number)
    if not symbol.isdigit() or symbol[0] not in "01":
        raise _invalid(
            System.BANK,
            "ゆうちょ銀行の記号は、0か1で始まる数字5桁です（通帳の記号をそのまま入力してください）",
            "a ゆうちょ銀行 記号 is 5 digits starting with 0 or 1 (as on the passbook)",
        )
    if not (serial.isascii() and serial.isdigit()):
        raise _invalid(
            System.BANK,
            "ゆうちょ銀行の番号は数字です（通帳の番号をそのまま入力してください）",
            "a ゆうちょ銀行 番号 is digits (as on the passbook)",
        )
    if symbol[0] == "1":
        if account_type != "ordinary":
            raise _invalid(
                System.BANK,
                "記号が1で始まるゆうちょ銀行の口座（通常貯金）は、預金種目が普通です",
                "a ゆうちょ銀行 account whose 記号 starts with 1 (通常貯金) is an ordinary account",
            )
        if not (2 <= len(serial) <= 8 and serial.endswith("1")):
            raise _invalid(
                System.BANK,
                "記号が1で始まるゆうちょ銀行の口座の番号は、末尾が1の数字8桁以内です"
                "（通帳の番号をそのまま入力してください）",
                "the 番号 of a ゆうちょ銀行 account whose 記号 starts with 1 is up to 8 digits "
                "ending in 1 (as on the passbook)",
            )
        return symbol[1:3] + "8", serial[:-1].zfill(7)
    if account_type != "current":
        raise _invalid(
            System.BANK,
            "記号が0で始まるゆうちょ銀行の口座（振替口座）は、預金種目が当座です",
            "a ゆうちょ銀行 account whose 記号 starts with 0 (振替口座) is a current account",
        )
    if not 1 <= len(serial) <= 6:
        raise _invalid(
            System.BANK,
            "記号が0で始まるゆうちょ銀行の口座（振替口座）の番号は、数字6桁以内です",
            "the 番号 of a ゆうちょ銀行 account whose 記号 starts with 0 (振替口座) is up to 6 "
            "digits",
        )
    return symbol[1:3] + "9", serial.zfill(7)


def insurer_check_digit(first: str) -> str:
    """The check digit (検証番号) of an insurer number whose other digits are `first`: from the
    rightmost, digits weighted 2, 1, 2, 1 …, the digits of the products summed, and the check
    digit what brings the sum to a multiple of 10 (01130012, 協会けんぽ's 東京支部: 2)."""
    total = 0
    for i, ch in enumerate(reversed(first)):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str(-total % 10)


def insurer_number(value: str) -> str:
    """An insurer number (保険者番号): 6 digits (国民健康保険) or 8, the last its check digit,
    so that one digit mistyped from the card is caught before the insurer is asked."""
    v = _digits(
        value,
        (6, 8),
        None,
        System.INSURER,
        "保険者番号は数字6桁または8桁です",
        "an insurer number is 6 or 8 digits",
    )
    if insurer_check_digit(v[:-1]) != v[-1]:
        raise _invalid(
            System.INSURER,
            "保険者番号の最後の1桁（検証番号）が他の桁と合いません。保険証の保険者番号を確かめてください",
            "the insurer number's last digit (its check digit) does not agree with the others: "
            "check it against the insurance card",
        )
    return v


def insured_symbol(value: str) -> str:
    # Symbols may contain kana and kanji (国保 symbols often do): keep every character but spaces.
    # Normalised again once the spaces are gone: a space before a combining mark (`U ̈`) kept
    # the two apart, and the symbol sent became another one when normalised once more.
    v = unicodedata.normalize("NFKC", re.sub(r"\s", "", unicodedata.normalize("NFKC", value)))
    if not 1 <= len(v) <= 20:
        raise _invalid(
            System.INSURER, "記号は1〜20文字です", "an insured symbol is 1 to 20 characters"
        )
    return v


def insured_number(value: str) -> str:
    v = _compact(value)
    if not re.fullmatch(r"[0-9A-Za-z]{1,20}", v):
        raise _invalid(
            System.INSURER,
            "番号は英数字1〜20文字です",
            "an insured number is 1 to 20 letters or digits",
        )
    return v


def insured_branch(value: str) -> str:
    return _digits(
        value, (2,), 2, System.INSURER, "枝番は数字2桁です", "a branch number is 2 digits"
    )


def cert_fingerprint(value: str) -> str:
    """SHA-256 of the auth certificate, 64 hex digits (colons and case ignored)."""
    v = value.replace(":", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        raise _invalid(
            System.INSURER,
            "カード証明書の指紋はSHA-256（16進64桁）です",
            "a card certificate fingerprint is a SHA-256 (64 hex digits)",
        )
    return v


def mask(value: str, keep: int = 4) -> str:
    """`************0011`: what logs and screens may show of an identifier."""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]
