"""Payout batches to providers and their ledger transfers."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.locks import key_lock
from madoguchi.outside import OutsideError, UnknownProvider
from madoguchi.outside import PayoutItem as OutsidePayoutItem

from .. import ledger, outside
from ..constants import (
    ITEM_WITHDRAWN,
    WITHDRAWN_LINK_NOT_EFFECTIVE,
    WITHDRAWN_LINK_SUSPENDED,
    WITHDRAWN_POINTS_NOT_DUE,
    AccountKind,
    BatchStatus,
    LinkStatus,
)
from ..events import (
    BENEFITS_PAYOUT_ITEM_WITHDRAWN,
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

# The lock space of a provider and programme's batch run (the bytes "payo"), `locks.key_lock`.
_CREATE_LOCK_SPACE = int.from_bytes(b"payo", "big")


def payout_batch_create(provider: Provider, programme: Programme) -> PayoutBatch | None:
    """A batch of what is due to the residents linked to this provider (None if nothing is).
    Links already in an unaccepted batch are left out, so nothing is sent twice; two runs at
    once (two schedulers, an operator beside the timer) run one after the other, so the second
    sees the first's items."""
    with transaction.atomic():
        key_lock(_CREATE_LOCK_SPACE, f"{provider.pk}:{programme.pk}")
        pending_links = set(
            PayoutItem.objects.filter(batch__status=BatchStatus.OPEN)
            .exclude(result=ITEM_WITHDRAWN)
            .values_list("link_id", flat=True)
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


def _withdraw(batch: PayoutBatch, item: PayoutItem, reason: str, actor: Any) -> None:
    """Take an item out of a locked batch not yet sent, saying why, in the audit log too."""
    PayoutItem.objects.filter(pk=item.pk).update(result=ITEM_WITHDRAWN, reason=reason)
    audit.record(
        BENEFITS_PAYOUT_ITEM_WITHDRAWN,
        actor=actor,
        subject=item.link,
        payload={
            "provider": batch.provider.code,
            "account": item.link.masked_account,
            "batch": batch.batch_id,
            "item": item.item_id,
            "points": item.points,
            "reason": reason,
        },
    )


def _why_not_payable(item: PayoutItem) -> str | None:
    """Why the ledger no longer holds an item's points for its link (None: it does)."""
    link = item.link
    if link.status == LinkStatus.SUSPENDED:
        return WITHDRAWN_LINK_SUSPENDED
    if link.status != LinkStatus.EFFECTIVE:
        return WITHDRAWN_LINK_NOT_EFFECTIVE
    due = ledger.balance(ledger.account(AccountKind.DUE, link.programme, holder=link.holder))
    if due < item.points:
        return WITHDRAWN_POINTS_NOT_DUE
    return None


def link_items_withdraw(link: PaymentLink, *, reason: str, actor: Any) -> list[PayoutItem]:
    """Inside the caller's transaction, with the link locked: withdraw the link's items from
    the open batches not yet sent (locked), and return its items in batches sent and not yet
    accepted (whether the provider paid them is not known yet)."""
    open_batches = PayoutItem.objects.filter(link=link, batch__status=BatchStatus.OPEN).exclude(
        result=ITEM_WITHDRAWN
    )
    batches = (
        PayoutBatch.objects.select_for_update()
        .select_related("provider")
        .filter(pk__in=open_batches.values("batch_id"))
        .order_by("pk")
    )
    in_doubt: list[PayoutItem] = []
    for batch in batches:
        items = batch.items.filter(link=link).exclude(result=ITEM_WITHDRAWN).select_related("link")
        if batch.status != BatchStatus.OPEN:
            continue
        if batch.sent_at is not None:
            in_doubt.extend(items)
            continue
        for item in items:
            _withdraw(batch, item, reason, actor)
    return in_doubt


def _lock_batch(batch: PayoutBatch) -> PayoutBatch:
    """Inside a transaction: lock the links of the batch's items, by pk, and then the batch.

    A case's step locks its link and then the link's batches (`link_items_withdraw`), and
    posting a paid item's transfer names the link (PostgreSQL takes a key-share lock on it):
    a send that locked the batch first and a suspension or return of one of its links waited
    for each other ("deadlock detected"). One order, the links before their batch, as the case
    steps take them; by pk, so two sends sharing a link wait rather than deadlock."""
    links = PaymentLink.objects.filter(
        pk__in=PayoutItem.objects.filter(batch_id=batch.pk).values("link_id")
    )
    list(links.select_for_update().only("pk").order_by("pk"))
    batches = PayoutBatch.objects.select_for_update(of=("self",)).select_related("provider")
    return batches.get(pk=batch.pk)


def _fix_items(batch: PayoutBatch, actor: Any) -> tuple[PayoutBatch, list[PayoutItem]]:
    """The batch (locked, then committed) and the items to send. Before its first send, an
    item whose points the ledger no longer holds for the link (suspended, returned) is
    withdrawn and the batch marked sent; a batch with nothing left is withdrawn. A batch sent
    before is sent again with the same items: the provider refuses a batch id with others."""
    with transaction.atomic():
        locked = _lock_batch(batch)
        items = list(
            locked.items.exclude(result=ITEM_WITHDRAWN)
            .select_related("link", "link__holder", "link__programme")
            .order_by("item_id")
        )
        if locked.status != BatchStatus.OPEN or locked.sent_at is not None:
            return locked, items
        kept = []
        for item in items:
            reason = _why_not_payable(item)
            if reason is None:
                kept.append(item)
            else:
                _withdraw(locked, item, reason, actor)
        if kept:
            locked.sent_at = timezone.now()
            locked.save(update_fields=["sent_at"])
        else:
            locked.status = BatchStatus.WITHDRAWN
            locked.save(update_fields=["status"])
    return locked, kept


def payout_batch_send(batch: PayoutBatch, *, actor: Any = None) -> PayoutBatch:
    """Send a batch (again, if need be: the provider answers a repeat with its first answer)
    and post a payout transfer for each paid item, once. Before the first send, the items
    whose points a case suspended or returned meanwhile are withdrawn (`_fix_items`); a batch
    left with none is not sent."""
    try:
        # Before the batch is marked sent: a batch no adapter can send was marked sent (its
        # answer in doubt) and never handed to anyone.
        adapter = outside.systems().providers.get(batch.provider.code)
    except UnknownProvider as exc:
        raise BenefitsRefused(
            "unknown_provider",
            _(
                "No adapter is configured for the payment service %(provider)s; the payout "
                "batch was not sent."
            ),
            params={"provider": batch.provider.code},
        ) from exc
    fixed, items = _fix_items(batch, actor)
    if fixed.status == BatchStatus.WITHDRAWN:
        return fixed
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
        locked = _lock_batch(batch)
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
