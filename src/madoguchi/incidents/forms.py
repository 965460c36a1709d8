from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.once.forms import once_field
from madoguchi.plaintext import no_long_number, plain_text
from madoguchi.terminals.models import Terminal

from .constants import Severity


class ComplaintForm(forms.Form):
    once = once_field()  # sent twice (a double click, back and send again), recorded once
    # Not "---------", Django's empty label: the complaint need not be about one desk.
    terminal = forms.ModelChoiceField(
        Terminal.objects.none(),
        label=_("Desk"),
        required=False,
        empty_label=_("Not about one desk"),
    )
    reported_by = forms.CharField(
        label=_("Who complained"),
        max_length=200,
        required=False,
        validators=[plain_text, no_long_number],
    )
    severity = forms.ChoiceField(
        choices=Severity.choices, initial=Severity.MEDIUM, label=_("Severity")
    )
    summary = forms.CharField(
        label=_("What they said"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=500,
        validators=[plain_text, no_long_number],
    )

    def __init__(self, *args: object, terminals: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if terminals is not None:
            self.fields["terminal"].queryset = terminals  # type: ignore[attr-defined]
