"""Kanji in the kana name typed at the desk are refused. The name check compares the reading
with the account's kana; kanji cannot be compared (SCRIPT_MISMATCH), so the card's name copied
into the kana field made every account a close match, confirmed with one tick: B's account for
A as for anyone. The certified reading is not typed and is not asked."""

import pytest

from madoguchi.benefits.models import PaymentLink
from madoguchi.desk.models import Procedure
from madoguchi.namecheck import Outcome, Reason, check
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit

KANJI_KANA = (
    "山田 太郎",
    "ヤマダ 太郎",
    "佐々木 ハナコ",
    "夕ロウ ヤマダ",
)  # 夕 is the kanji, not タ


def test_the_name_check_cannot_tell_any_account_from_kanji():
    """Why the desk refuses it: against kanji, another person's account is only close."""
    result = check("山田 太郎", "ｽｽﾞｷ ｲﾁﾛｳ")
    assert (result.outcome, result.reason) == (Outcome.CLOSE, Reason.SCRIPT_MISMATCH)


@pytest.mark.usefixtures("providers", "systems")
def test_kanji_in_the_residents_kana_is_refused_saying_to_type_the_reading(trusted, desk):
    visit = start_visit(desk, trusted.card("C"))
    for kana in KANJI_KANA:
        err = refused("resident_kana_kanji", prepare, desk, **apply_fields(kana=kana))
        assert "フリガナに漢字" in err.message_ja
        assert err.message_en.startswith("The kana name contains kanji")
    assert not Procedure.objects.filter(visit=visit).exists()
    assert not PaymentLink.objects.exists()
    # Katakana, hiragana, half-width and Latin letters are readings, as before.
    for kana in ("ヤマダ タロウ", "やまだ たろう", "ﾔﾏﾀﾞ ﾀﾛｳ"):
        p = prepare(desk, **apply_fields(kana=kana))
        assert p.fields["name_outcome"] == "match", kana
        p.delete()
