"""Forms for the desk pages. A procedure handler may carry its own `form_class`; the test
procedure, which has none, uses `TestLinkForm`."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TestLinkForm(forms.Form):
    account = forms.CharField(
        label=_("Payment account reference"),
        max_length=60,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    points = forms.IntegerField(label=_("Points"), min_value=0, max_value=20000, initial=5000)


FALLBACK_FORMS: dict[str, type[forms.Form]] = {"test_link": TestLinkForm}
