"""Reads about holders."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.apps import apps
from django.core.exceptions import ValidationError

from madoguchi.audit.models import AuditEvent

from .events import CERTIFICATE_RENEWAL_LINKED
from .models import Holder


def holder_ids_merged_into(holder_id: int) -> list[int]:
    """`holder_id` and every holder merged into it by a renewal link (`identity.merge`), and
    into those: the audit log keeps the ids events were recorded under, so a resident's access
    history reads all of them. The renewal's own event names each merge."""
    found = [holder_id]
    pending = [holder_id]
    while pending:
        payloads = AuditEvent.objects.filter(
            event_name=CERTIFICATE_RENEWAL_LINKED.name,
            subject_type="identity.holder",
            subject_id=str(pending.pop()),
        ).values_list("payload", flat=True)
        for payload in payloads:
            merged = str((payload or {}).get("merged_holder", ""))
            if merged.isdigit() and int(merged) not in found:
                found.append(int(merged))
                pending.append(int(merged))
    return found


def holder_ids_by_public_id(public_ids: Iterable[str]) -> list[int]:
    """The card holders these public ids name (`Holder.public_id`, as `scan export` writes a
    resident's id), in the order given; an id that is no holder's here (another system's
    resident id, a value that is not a UUID) names none."""
    wanted: list[uuid.UUID] = []
    for text in public_ids:
        try:
            wanted.append(uuid.UUID(str(text).strip()))
        except ValueError:
            continue
    if not wanted:
        return []
    found = dict(Holder.objects.filter(public_id__in=wanted).values_list("public_id", "pk"))
    return list(dict.fromkeys(found[w] for w in wanted if w in found))


def event_holder_id(event: AuditEvent) -> int | None:
    """The resident an audit event is about, None when it is about none: its subject the card
    holder (a read of their records, a certificate linked), or a record of one (the subject's
    model keeps its `holder`, or its `visit`'s: a link, a registration, a grant, a visit, a
    case, an incident of a visit). The subject is looked up by its type's name, as the log
    keeps it (the audit app names no model)."""
    kind, key = event.subject_type, event.subject_id
    if not kind or not key:
        return None
    if kind == "identity.holder":
        return int(key) if key.isdigit() else None
    try:
        model = apps.get_model(kind)
    except (LookupError, ValueError):
        return None
    names = {f.name for f in model._meta.concrete_fields}
    path = "holder_id" if "holder" in names else "visit__holder_id" if "visit" in names else ""
    if not path:
        return None
    try:
        return model._default_manager.filter(pk=key).values_list(path, flat=True).first()
    except (ValueError, ValidationError):  # a subject id that is not its type's key
        return None
