"""Kanji in the kana name typed at the desk are refused. The name check compares the reading
with the account's kana; kanji cannot be compared (SCRIPT_MISMATCH), so the card's name copied
into the kana field made every account a close match, confirmed with one tick: B's account for
A as for anyone. The certified reading is not typed and is not asked. The desk's refusal:
tests/benefits/test_kana_legal_form.py (with the legal forms)."""

import pytest

from madoguchi.namecheck import Outcome, Reason, check


def test_the_name_check_cannot_tell_any_account_from_kanji():
    """Why the desk refuses it: against kanji, another person's account is only close."""
    result = check("山田 太郎", "ｽｽﾞｷ ｲﾁﾛｳ")
    assert (result.outcome, result.reason) == (Outcome.CLOSE, Reason.SCRIPT_MISMATCH)


@pytest.mark.django_db
def test_every_procedures_kana_field_says_it_takes_the_reading_not_kanji():
    """The desk's form says so beside the field, before the refusal has to."""
    from django.utils import translation

    from madoguchi.benefits.procedures.health_insurance import HealthInsuranceForm
    from madoguchi.benefits.procedures.point_application import PointApplicationForm
    from madoguchi.benefits.procedures.public_fund import PublicFundForm

    for form in (PointApplicationForm, PublicFundForm, HealthInsuranceForm):
        hint = form().fields["resident_kana"].help_text
        with translation.override("ja"):
            assert "漢字は入力できません" in str(hint), form
        with translation.override("en"):
            assert "never kanji" in str(hint), form
