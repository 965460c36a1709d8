"""`page_language`: which of the site's two languages a tag means, and the places that took an
English tag with a region (or in capitals) for Japanese before it was the one answer."""

import pytest
from django.utils import translation

from madoguchi.benefits.procedures.health_insurance import HealthInsuranceUse
from madoguchi.benefits.states import insurer_refusal
from madoguchi.desk.procedures import label
from madoguchi.language import english, page_language


@pytest.mark.parametrize("tag", ["en", "EN", "en-us", "en-US", "en_GB", " en "])
def test_an_english_tag_is_english_whatever_its_region_or_case(tag):
    assert page_language(tag) == "en"
    assert english(tag)


@pytest.mark.parametrize("tag", ["ja", "JA", "ja-jp", "ja_JP", "", "fr", "eng", "e", "-en"])
def test_any_other_tag_is_japanese(tag):
    assert page_language(tag) == "ja"
    assert not english(tag)


def test_no_tag_is_the_active_language():
    with translation.override("en"):
        assert page_language() == "en"
        assert english()
    with translation.override("ja"):
        assert page_language() == "ja"
        assert not english()
    with translation.override("en-us"):
        assert page_language() == "en"
    with translation.override(None):  # translation deactivated: the site's default
        assert page_language() == "ja"


def test_a_given_tag_wins_over_the_active_language():
    with translation.override("ja"):
        assert page_language("en-gb") == "en"
    with translation.override("en"):
        assert page_language("ja") == "ja"


def test_procedures_and_insurer_sentences_agree_on_a_regional_english_tag():
    """The procedure's name took "en-us" for English but "EN" for Japanese; the insurer's refusal
    sentence and the health-insurance status line took either for Japanese. English is English
    whatever its region or case, everywhere."""
    kind = HealthInsuranceUse.kind
    for tag in ("en-us", "EN", "en_GB"):
        assert label(kind, tag) == HealthInsuranceUse.label_en
        assert insurer_refusal("no-such-code", tag) == "The insurer did not accept the request."
    assert label(kind, "ja-JP") == HealthInsuranceUse.label_ja
    assert insurer_refusal("no-such-code", "ja-JP") == "保険者が依頼を受け付けませんでした。"


def test_a_forms_labels_end_with_a_japanese_colon_on_a_japanese_page():
    """Django's forms end a label with its catalogue's ":", which its Japanese catalogue keeps
    Latin: the case page's forms read 「日付:」 and 「概要:」 beside the desk's Japanese. A label that
    already ends with a question mark gets none."""
    from django import forms

    class Step(forms.Form):
        summary = forms.CharField(label="概要")
        asked = forms.CharField(label="ご本人に確認しましたか？")
        english = forms.CharField(label="Summary")

    with translation.override("ja"):
        form = Step()
        assert form["summary"].label_tag().endswith(">概要：</label>")
        assert form["asked"].label_tag().endswith(">ご本人に確認しましたか？</label>")
    with translation.override("en"):
        assert Step()["english"].label_tag().endswith(">Summary:</label>")


def test_the_case_pages_kana_field_is_a_label_with_its_explanation_beside_it():
    """The comparison's kana field had its whole explanation in its label, and the label's own
    colon after it (「…照合します）:」)."""
    from madoguchi.cases.forms import CompareForm

    with translation.override("ja"):
        field = CompareForm(prefix="compare")["resident_kana"]
        assert field.label_tag().endswith(">ご本人のお名前（フリガナ）：</label>")
        assert str(field.help_text).startswith("ご本人に読み方を確かめて入力します")
