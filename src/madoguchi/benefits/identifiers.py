"""Account identifiers as keyed hashes plus the last 4 characters.

A payment service ID, bank account or insured number is never stored: only
HMAC-SHA256(settings.IDENTIFIER_HASH_KEY, normalised identifier) and its last 4 characters.
A presented identifier can be compared with a stored hash (constant time) without either
being revealed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from django.conf import settings

_DROP = re.compile(r"[\s\-‐－ー−]")


def normalise(value: str) -> str:
    """NFKC (full-width digits to ASCII), no spaces or hyphens, upper case."""
    return _DROP.sub("", unicodedata.normalize("NFKC", value)).upper()


def identifier_hash(value: str) -> str:
    key = settings.IDENTIFIER_HASH_KEY.encode()
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


def identifier_matches(presented: str, stored_hash: str) -> bool:
    """Is `presented` the identifier whose keyed hash is `stored_hash`? Constant-time."""
    return hmac.compare_digest(identifier_hash(presented), stored_hash)


def last4(value: str) -> str:
    """The last 4 characters, which staff and receipts may show; none at all when the identifier
    has 4 characters or fewer (its "last 4" would be the whole of it, so it is fully masked)."""
    normal = normalise(value)
    return normal[-4:] if len(normal) > 4 else ""


def masked(last_four: str) -> str:
    """What staff see: ＊＊＊＊0001."""
    return "＊＊＊＊" + last_four


def bank_account_identifier(
    bank_code: str, branch_code: str, account_type: str, account_number: str
) -> str:
    """The one string a bank account is hashed as (the number alone is not unique)."""
    return f"{normalise(bank_code)}/{normalise(branch_code)}/{account_type}/{normalise(account_number).zfill(7)}"


def insured_identifier(insurer_number: str, symbol: str, number: str, branch: str) -> str:
    return f"{normalise(insurer_number)}/{normalise(symbol)}/{normalise(number)}/{normalise(branch).zfill(2)}"
