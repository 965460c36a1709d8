"""A long number (an individual number, a payment service ID, a bank account) written so the
long-number rule did not see it, while a reader does: an invisible character between its
digits (a zero-width space, a soft hyphen, a word joiner), a dash other than the hyphens the
rule knew (an en dash, a horizontal bar, a non-breaking hyphen), a hyphen with spaces around
it, or digits of another script. The rule (`plaintext.long_number`) keeps such numbers out of
everything stored and shown (the resident's comment, officials' text, the kana, names) and
`logsafe.scrub` out of the logs (docs/security.md, side doors round 12)."""

from __future__ import annotations

import pytest

from madoguchi import logsafe
from madoguchi.plaintext import long_number

# What stands between a number's groups of digits, shown as nothing or as a hyphen or a space.
SEPARATORS = [
    "\u200b",  # zero-width space: shows as 123456789012
    "\u00ad",  # soft hyphen: shows as 123456789012
    "\u2060",  # word joiner
    "\ufeff",  # zero-width no-break space
    "\u200d\u200c",  # zero-width joiner and non-joiner
    "\u2013",  # en dash
    "\u2015",  # horizontal bar (―), common in Japanese typing
    " - ",  # a hyphen with spaces around it
    "  ",  # two spaces
    "\u3000－\u3000",  # a full-width hyphen between ideographic spaces
]

OTHER_DIGITS = [
    "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic digits
    "१२३४५६७८९०१२",  # Devanagari digits
    "1\u03032\u03033\u03034\u03035\u03036\u03037\u03038\u03039\u03030\u03031\u03032",  # marks
]


@pytest.mark.parametrize("separator", SEPARATORS)
def test_a_long_number_with_odd_separators_is_a_long_number(separator):
    assert long_number(f"番号は {separator.join(['1234', '5678', '9012'])} です")
    assert long_number(separator.join(["7010", "0000", "0000", "0001"]))  # a payment service ID
    # A telephone number written the same way is still shorter.
    assert not long_number(f"電話 {separator.join(['090', '1234', '5678'])} まで")


@pytest.mark.parametrize("digits", OTHER_DIGITS)
def test_a_long_number_in_other_digits_is_a_long_number(digits):
    assert long_number(f"番号は {digits} です")
    assert not long_number(f"番号は {digits[: len(digits) // 2]} です")


@pytest.mark.parametrize("separator", SEPARATORS)
def test_the_logs_scrub_a_long_number_with_odd_separators(separator):
    said = logsafe.scrub(f"before {separator.join(['1234', '5678', '9012'])} after")
    assert said == "before [number] after"
    phone = f"before {separator.join(['090', '1234', '5678'])} after"
    assert logsafe.scrub(phone) == phone
