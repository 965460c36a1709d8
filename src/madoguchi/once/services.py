"""Record a form once (see the package's docstring). `record_once` writes the key in the same
transaction as the write it guards, which is an audited service of its caller's app: the key is
bookkeeping of that write, never a change of its own (tests/audit/test_every_service_records.py
names it)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Model, QuerySet

from .models import SentForm

KEY_FIELD = "once"
KEY_LENGTH = 64  # SentForm.key's; `new_key` makes 32 characters

M = TypeVar("M", bound=Model)


def new_key() -> str:
    return secrets.token_urlsafe(24)


class _SentBefore(Exception):
    pass


def _sent(label: str, key: str, target: str) -> QuerySet[SentForm]:
    """The keys recorded for this form: its own target's, and a key kept before migration once
    0002 (target ""), which counted for every form of its model then and still counts: the same
    form sent again after the upgrade was recorded a second time. This form's own first."""
    return SentForm.objects.filter(model=label, key=key, target__in=[target, ""]).order_by(
        "-target"
    )


def _earlier(label: str, key: str, target: str, model: type[M]) -> tuple[bool, M | None]:
    """Whether this form (of this model, for this target) was recorded with this key, and its
    row (None if gone)."""
    sent = _sent(label, key, target).first()
    if sent is None:
        return False, None
    return True, model._default_manager.filter(pk=sent.object_id).first()


def record_once(key: str, model: type[M], write: Callable[[], M], *, target: str) -> tuple[M, bool]:
    """Run `write` (an audited service; it returns the row it recorded, of `model`) unless this
    form was recorded with this key: (the row, True) when written now, (the earlier form's row,
    False) when not. `target` names the form the key was shown with, as its caller knows it
    from the address it was sent to ("case 12 step investigate", "intake"): a key counts as
    sent before only for its own form. Sent with another (another case's step, another step
    of the case, the intake), it is that form's first send and is written: a key looked up by
    its model alone told the official "sent twice, recorded once" for a case that had nothing
    recorded. Two sends at once: the key's unique row decides, and the second's writes are
    rolled back. An empty key (a form shown before keys, or a script) is written as before; a
    longer key than any shown is read as its first `KEY_LENGTH` characters. A key whose row is
    gone (deleted since) is taken as new, as the case's key was when it went with its case. A
    key kept before migration once 0002 (target "") counts for every form of its model, as it
    did then. A
    send refused after the first of two at once recorded its key (the lock it waited for, then
    the state the first left) is the second send too."""
    key = key[:KEY_LENGTH]
    label = model._meta.label_lower
    if key:
        found, earlier = _earlier(label, key, target, model)
        if earlier is not None:
            return earlier, False
        if found:
            _sent(label, key, target).delete()
    try:
        with transaction.atomic():
            row = write()
            if key:
                try:
                    with transaction.atomic():
                        SentForm.objects.create(
                            model=label, key=key, target=target, object_id=row.pk
                        )
                except IntegrityError:
                    raise _SentBefore from None
    except _SentBefore:
        earlier = _earlier(label, key, target, model)[1]
        if earlier is None:  # the other send's row, committed with its key, deleted since
            raise
        return earlier, False
    except DatabaseError:
        raise
    except Exception:
        # The second of two sends at once waited for the lock the first held, and was then
        # refused by what the first did (a case step that may not repeat: the first closed the
        # case). The first's key is there now: the form was sent twice, not refused.
        earlier = _earlier(label, key, target, model)[1] if key else None
        if earlier is None:
            raise
        return earlier, False
    return row, True


def sent_before(key: str, model: type[Model], *, target: str) -> bool:
    """Whether this form (of `model`, for `target`, as `record_once`) was recorded with this key
    (`remember`). For a write with an effect outside the database (an email sent): its caller
    checks this after taking the lock that orders two sends of the same form, and `remember`s
    the key in that transaction, so the second send finds the key before it sends anything. An
    empty key was never recorded; a key recorded with another form is not this one's (a key
    kept before migration once 0002, with no form, still counts as sent)."""
    key = key[:KEY_LENGTH]
    return bool(key) and _sent(model._meta.label_lower, key, target).exists()


def remember(key: str, model: type[Model], object_id: int, *, target: str) -> None:
    """Keep the key of the form for `target` that acted on row `object_id` of `model` (see
    `sent_before`); an empty key is not kept."""
    key = key[:KEY_LENGTH]
    if key:
        SentForm.objects.create(
            model=model._meta.label_lower, key=key, target=target, object_id=object_id
        )
