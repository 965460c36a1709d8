"""Reads about holders."""

from __future__ import annotations

from madoguchi.audit.models import AuditEvent

from .events import CERTIFICATE_RENEWAL_LINKED


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
