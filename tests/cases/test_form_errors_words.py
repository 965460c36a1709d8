"""A case step's refused form, said in the page's language: English sentences one after
another (they read "Date precision: This field is required.; Summary: …", round 19)."""

from django import forms
from django.utils import translation

from madoguchi.cases.views import _form_errors


class _Step(forms.Form):
    summary = forms.CharField(label="Summary")
    date_precision = forms.CharField(label="Date precision")


def test_english_errors_are_sentences_one_after_another():
    form = _Step(data={})
    assert not form.is_valid()
    with translation.override("en"):
        said = _form_errors(form)
    assert ".;" not in said
    assert said == "Summary: This field is required. Date precision: This field is required."
