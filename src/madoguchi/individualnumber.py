"""The shape of an individual number (個人番号, マイナンバー): eleven digits and a check digit.

Only the shape, so that a value can be refused wherever it would be kept (the forensic scan's
input ids): the data rules never read, store, log or show an individual number. The check
digit (番号法施行令 第8条) is 11 minus the remainder, modulo 11, of the eleven digits weighted
6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 from the left, or 0 where that remainder is 0 or 1
(12345678901 → 8). A pure library: no Django.
"""

from __future__ import annotations

WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
"""The weights of the first eleven digits, left to right."""


def check_digit(first_eleven: str) -> str:
    """The check digit that follows eleven digits."""
    weighted = sum(int(d) * w for d, w in zip(first_eleven, WEIGHTS, strict=True))
    return str((11 - weighted % 11) % 11 % 10)


SEPARATORS = " -"
"""What may stand between the card's groups of four digits (``1234 5678 9018``, as the card
prints it; ``1234-5678-9018``, as forms and city systems write it)."""

FULL_WIDTH = "０１２３４５６７８９"
"""The full-width digits Japanese registers often export text in (three bytes each in UTF-8)."""


def written_as_digits(value: str) -> str:
    """``value`` as twelve ASCII digits where it is written as the card groups them (14
    characters: 4-4-4 with a space or hyphen between) or in full-width digits (12 characters);
    otherwise as it is. Only those two lengths are read further: other values cost a length
    test."""
    if len(value) == 14 and value[4] in SEPARATORS and value[9] in SEPARATORS:
        return value[:4] + value[5:9] + value[10:]
    if len(value) == 12 and all(c in FULL_WIDTH for c in value):
        return "".join(str(FULL_WIDTH.index(c)) for c in value)
    return value


def is_individual_number(value: str) -> bool:
    """Twelve ASCII digits whose last is the check digit of the eleven before: an individual
    number, or (one in ten twelve-digit values) another number that cannot be told from one.
    Also written as the card groups them or in full-width digits (``written_as_digits``)."""
    value = written_as_digits(value)
    return (
        len(value) == 12
        and value.isascii()
        and value.isdigit()
        and value[11] == check_digit(value[:11])
    )
