"""The card's sex codes as the health-insurance form offers them."""

from django.utils import translation

from madoguchi.benefits.procedures.health_insurance import HealthInsuranceForm


def _labels() -> dict[str, str]:
    return {
        code: str(label) for code, label in HealthInsuranceForm().fields["resident_sex"].choices
    }


def test_the_cards_code_9_is_offered_as_not_applicable_not_other():
    """The card's codes are ISO/IEC 5218's (docs/jpki-card.md): 9 is "not applicable", as the
    desk's card tray says it (適用なし); the form offered it as その他 (other), a sex the card
    does not record."""
    with translation.override("ja"):
        assert _labels() == {"1": "男性", "2": "女性", "9": "適用なし"}
    with translation.override("en"):
        assert _labels() == {"1": "Male", "2": "Female", "9": "Not applicable"}
