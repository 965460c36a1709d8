"""The resident's records say the account name check's outcome and why, as two parts."""

from types import SimpleNamespace

from madoguchi.namecheck.reasons import Outcome, Reason, outcome_text, resident_reason_text
from madoguchi.residents.selectors import name_check_text


def test_the_outcome_and_its_reason_are_not_run_together():
    """The records page read "Match The account's name was compared with your name …" (and
    「一致 口座の名義と…」): the outcome, a word, ran into the sentence that explains it."""
    row = SimpleNamespace(name_outcome=Outcome.MATCH.value, name_reason=Reason.EXACT.value)
    for lang, colon in (("en", ": "), ("ja", "：")):
        outcome = outcome_text(Outcome.MATCH, lang)
        reason = resident_reason_text(Reason.EXACT, lang)
        assert name_check_text(row, lang) == f"{outcome}{colon}{reason}"
