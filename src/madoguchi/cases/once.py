"""A case page's form recorded once: each form is shown with a one-time key (`new_key`, a hidden
field), and `record_once` writes what it sent and keeps the key in one transaction. The same
form sent again (a double click, or the browser's back button and the button once more) finds
its key and writes nothing: a timeline entry or an intake cannot be taken back, and a contact or
a note recorded twice stayed in the city's record and its incident report twice."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.db import IntegrityError, transaction

from .models import Case, SentForm

KEY_FIELD = "once"
KEY_LENGTH = 64  # SentForm.key's; `new_key` makes 32 characters


def new_key() -> str:
    return secrets.token_urlsafe(24)


class _SentBefore(Exception):
    pass


def record_once(key: str, write: Callable[[], Case]) -> tuple[Case, bool]:
    """Run `write` (a step or an intake; it returns its case) unless a form with this key was
    recorded: (the case, True) when written now, (the earlier form's case, False) when not. Two
    sends at once: the key's unique row decides, and the second's writes are rolled back. An
    empty key (a form shown before keys, or a script) is written as before; a longer key than
    any shown is read as its first `KEY_LENGTH` characters."""
    key = key[:KEY_LENGTH]
    if key:
        earlier = SentForm.objects.filter(key=key).select_related("case").first()
        if earlier is not None:
            return earlier.case, False
    try:
        with transaction.atomic():
            case = write()
            if key:
                try:
                    with transaction.atomic():
                        SentForm.objects.create(key=key, case=case)
                except IntegrityError:
                    raise _SentBefore from None
    except _SentBefore:
        return SentForm.objects.select_related("case").get(key=key).case, False
    return case, True
