"""Every change made through the Django admin becomes an audit event.

The admin writes a LogEntry for each addition, change and deletion it makes, inside the same
transaction as the change (changeform and delete views are atomic); this receiver turns each
one into an audit event, so the tamper-evident log has them too.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from madoguchi.audit import services as audit
from madoguchi.plaintext import long_number

from .events import ADMIN_CHANGED
from .services import NAME_WITHHELD, session_stamp

_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


@receiver(post_save, sender=LogEntry, dispatch_uid="madoguchi.accounts.admin_audit")
def admin_change_audited(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type: Any = instance.content_type if instance.content_type_id else None
    model = str(content_type.model) if content_type is not None else "?"
    app = str(content_type.app_label) if content_type is not None else "?"
    with transaction.atomic():
        audit.record(
            ADMIN_CHANGED,
            actor=instance.user,
            subject=(f"{app}.{model}", str(instance.object_id or "")),
            payload={
                "action": _ACTIONS.get(instance.action_flag, str(instance.action_flag)),
                "model": f"{app}.{model}",
                # A record named by a long number (the audit log refuses a 12-digit value,
                # which rolled the change back as a server error) is not named here.
                "object": _object_name(instance.object_repr or ""),
                "change": instance.get_change_message()[:500],
            },
        )


def _object_name(name: str) -> str:
    return NAME_WITHHELD if long_number(name) else name[:200]


@receiver(user_logged_in, dispatch_uid="madoguchi.accounts.session_limits")
def session_limits_start(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Every sign-in (the staff sign-in, and a test client's) starts the session's limits."""
    if request is not None and hasattr(request, "session"):
        session_stamp(request.session, time.time())
