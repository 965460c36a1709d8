"""The card's sex codes as the health-insurance form offers them."""

from django.utils import translation

from madoguchi.benefits.procedures.health_insurance import HealthInsuranceForm


def _labels() -> dict[str, str]:
    return {
        code: str(label)
        for code, label in HealthInsuranceForm().fields["resident_sex"].choices
        if code
    }


def test_the_cards_code_9_is_offered_as_not_applicable_not_other():
    """The card's codes are ISO/IEC 5218's (docs/jpki-card.md): 9 is "not applicable", as the
    desk's card tray says it (適用なし); the form offered it as その他 (other), a sex the card
    does not record."""
    with translation.override("ja"):
        assert _labels() == {"1": "男性", "2": "女性", "9": "適用なし"}
    with translation.override("en"):
        assert _labels() == {"1": "Male", "2": "Female", "9": "Not applicable"}


def test_the_form_chooses_no_sex_until_the_staff_do():
    """The form opened on 男性 (the first choice): a staff member who passed over the field sent
    a woman's registration as a man's, which the insurer's record then contradicted. It opens on
    an empty choice, and sending it so is refused, with the reason, beside the field."""
    with translation.override("ja"):
        html = str(HealthInsuranceForm()["resident_sex"])
        assert '<option value="" selected>カードの記載のとおり選んでください</option>' in html
        form = HealthInsuranceForm(data={"resident_birth_date": "1975-09-30"})
        assert not form.is_valid()
        assert form.errors["resident_sex"] == ["カードに記載のご本人の性別を選んでください。"]
    with translation.override("en"):
        form = HealthInsuranceForm(data={"resident_sex": ""})
        assert form.errors["resident_sex"] == ["Enter the resident's sex as on the card."]
