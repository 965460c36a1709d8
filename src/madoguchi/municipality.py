"""The 全国地方公共団体コード (municipality code): five digits and a check digit.

The check digit is the ones digit of 11 minus the remainder, modulo 11, of the five digits
weighted 6, 5, 4, 3 and 2 (Chiyoda 13101 → 6, so 131016). A pure library: no Django.
"""

from __future__ import annotations


def check_digit(first_five: str) -> str:
    """The check digit that follows five digits."""
    weighted = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return str((11 - weighted % 11) % 10)


def is_code(value: str) -> bool:
    """Six ASCII digits whose last is the check digit of the first five."""
    return (
        len(value) == 6
        and value.isascii()
        and value.isdigit()
        and value[5] == check_digit(value[:5])
    )
