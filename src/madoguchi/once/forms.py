from __future__ import annotations

from django import forms

from .services import new_key


def once_field() -> forms.CharField:
    """A form's one-time key (`once.services`): a new one each time the form is shown, hidden."""
    return forms.CharField(widget=forms.HiddenInput, required=False, initial=new_key)
