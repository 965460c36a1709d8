"""Kanji in the kana name typed at the desk are refused. The name check compares the reading
with the account's kana; kanji cannot be compared (SCRIPT_MISMATCH), so the card's name copied
into the kana field made every account a close match, confirmed with one tick: B's account for
A as for anyone. The certified reading is not typed and is not asked. The desk's refusal:
tests/benefits/test_kana_legal_form.py (with the legal forms)."""

from madoguchi.namecheck import Outcome, Reason, check


def test_the_name_check_cannot_tell_any_account_from_kanji():
    """Why the desk refuses it: against kanji, another person's account is only close."""
    result = check("山田 太郎", "ｽｽﾞｷ ｲﾁﾛｳ")
    assert (result.outcome, result.reason) == (Outcome.CLOSE, Reason.SCRIPT_MISMATCH)
