from django import forms
from django.utils.translation import gettext_lazy as _

from madoguchi.once.forms import once_field
from madoguchi.plaintext import free_text
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
    # Free text as the cases' (`plaintext.free_text`): a summary of only characters that show
    # nothing (U+200B, a Hangul filler) is an empty one, refused as required (side doors,
    # round 22: it was recorded, an incident that says nothing in the daily report).
    reported_by = free_text(_("Who complained"), 200, required=False)
    severity = forms.ChoiceField(
        choices=Severity.choices, initial=Severity.MEDIUM, label=_("Severity")
    )
    summary = free_text(_("What they said"), 500, rows=4)

    def __init__(self, *args: object, terminals: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if terminals is not None:
            self.fields["terminal"].queryset = terminals  # type: ignore[attr-defined]
