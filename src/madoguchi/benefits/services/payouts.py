"""Payout batches to providers and their ledger transfers."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import OutsideError
from madoguchi.outside import PayoutItem as OutsidePayoutItem

from .. import ledger, outside
from ..constants import (
    AccountKind,
    BatchStatus,
    LinkStatus,
)
from ..events import (
    BENEFITS_PAYOUT_SENT,
)
from ..models import (
    PaymentLink,
    PayoutBatch,
    PayoutItem,
    Programme,
    Provider,
)
from .base import BenefitsRefused

# --- payouts -----------------------------------------------------------------------------------


def payout_batch_create(provider: Provider, programme: Programme) -> PayoutBatch | None:
    """A batch of what is due to the residents linked to this provider (None if nothing is).
    Links already in an unaccepted batch are left out, so nothing is sent twice."""
    with transaction.atomic():
        pending_links = set(
            PayoutItem.objects.filter(batch__status=BatchStatus.OPEN).values_list(
                "link_id", flat=True
            )
        )
        items = []
        for link in PaymentLink.objects.filter(
            provider=provider, programme=programme, status=LinkStatus.EFFECTIVE
        ).select_related("holder"):
            if link.pk in pending_links:
                continue
            due = ledger.balance(ledger.account(AccountKind.DUE, programme, holder=link.holder))
            if due > 0:
                items.append((link, due))
        if not items:
            return None
        batch_id = uuid.uuid4().hex
        batch = PayoutBatch.objects.create(
            batch_id=batch_id,
            idempotency_key=f"payout:{batch_id}",
            provider=provider,
            programme=programme,
        )
        PayoutItem.objects.bulk_create(
            [
                PayoutItem(batch=batch, item_id=f"{n:05d}", link=link, points=pts)
                for n, (link, pts) in enumerate(items, 1)
            ]
        )
    return batch


def payout_batch_send(batch: PayoutBatch, *, actor: Any = None) -> PayoutBatch:
    """Send a batch (again, if need be: the provider answers a repeat with its first answer)
    and post a payout transfer for each paid item, once."""
    items = list(batch.items.select_related("link", "link__holder").order_by("item_id"))
    adapter = outside.systems().providers.get(batch.provider.code)
    try:
        result = adapter.payout(
            batch.batch_id,
            [
                OutsidePayoutItem(
                    item_id=i.item_id, account_ref=i.link.account_ref, points=i.points
                )
                for i in items
            ],
            idempotency_key=batch.idempotency_key,
        )
    except OutsideError as exc:
        summary, text = incident_text.sentence(
            incident_text.PAYOUT_NOT_ACCEPTED,
            batch=batch.batch_id,
            reason=incident_text.refusal(exc),
        )
        incident_record(
            kind=IncidentKind.OUTSIDE_REFUSED if exc.refusal else IncidentKind.OUTSIDE_FAILURE,
            reason_code=exc.code,
            severity=Severity.MEDIUM,
            summary=summary,
            detail={
                "batch": batch.batch_id,
                "provider": batch.provider.code,
                "code": exc.code,
                "text": text,
            },
        )
        raise BenefitsRefused.carrying(
            exc.code, ja=exc.message_ja, en=exc.message_en, status=502
        ) from exc
    by_id = {r.item_id: r for r in result.items}
    with transaction.atomic():
        locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        paid_total = 0
        for item in items:
            r = by_id.get(item.item_id)
            if r is None:
                continue
            PayoutItem.objects.filter(pk=item.pk).update(
                result=str(r.status), reason=r.reason or ""
            )
            if str(r.status) != "paid":
                continue
            ledger.post_payout(
                item.link,
                item.points,
                batch_id=locked.batch_id,
                item_id=item.item_id,
                batch=locked,
                actor=actor,
            )
            paid_total += item.points
        if locked.status != BatchStatus.ACCEPTED:
            locked.status = BatchStatus.ACCEPTED
            locked.payout_ref = result.payout_ref
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["status", "payout_ref", "accepted_at"])
            audit.record(
                BENEFITS_PAYOUT_SENT,
                actor=actor,
                subject=locked,
                payload={
                    "provider": locked.provider.code,
                    "batch": locked.batch_id,
                    "points": paid_total,
                },
            )
    return locked
