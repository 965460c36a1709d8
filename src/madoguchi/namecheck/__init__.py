"""Name check: compares a resident's kana name with a bank or payment account holder's name.

Pure Python (no Django). ``check`` for one pair, ``check_many`` for forensic scans,
``normalise`` for the canonical katakana form. See docs/name-check.md.
"""

from madoguchi.namecheck.check import (
    CLOSE_THRESHOLD,
    MATCH_THRESHOLD,
    NameCheckResult,
    check,
    check_many,
)
from madoguchi.namecheck.normalise import normalise
from madoguchi.namecheck.reasons import (
    OUTCOME_TEXTS,
    REASON_TEXTS,
    Outcome,
    Reason,
    outcome_text,
    reason_text,
)

__all__ = [
    "CLOSE_THRESHOLD",
    "MATCH_THRESHOLD",
    "OUTCOME_TEXTS",
    "REASON_TEXTS",
    "NameCheckResult",
    "Outcome",
    "Reason",
    "check",
    "check_many",
    "normalise",
    "outcome_text",
    "reason_text",
]
