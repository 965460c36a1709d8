"""Name check: compares a resident's kana name with a bank or payment account holder's name.

Pure Python (no Django). ``check`` for one pair, ``check_batch`` for forensic scans (codes in
arrays, objects on request), ``check_many`` for a list of results, ``normalise`` for the
canonical katakana form. See docs/name-check.md.
"""

from madoguchi.namecheck.batch import OUTCOME_CODES, REASON_CODES, BatchResult, check_batch
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
    "OUTCOME_CODES",
    "OUTCOME_TEXTS",
    "REASON_CODES",
    "REASON_TEXTS",
    "BatchResult",
    "NameCheckResult",
    "Outcome",
    "Reason",
    "check",
    "check_batch",
    "check_many",
    "normalise",
    "outcome_text",
    "reason_text",
]
