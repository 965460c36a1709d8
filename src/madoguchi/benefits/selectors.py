"""Reads of the benefits app shared by its services and commands."""

from __future__ import annotations

from django.db.models import QuerySet

from .constants import ITEM_REJECTED
from .models import PayoutItem


def held_payout_items() -> QuerySet[PayoutItem]:
    """The payout items the provider refused whose hold no city official has released: each
    holds its link's points back from every later batch (docs/benefits.md, "Payouts"). Oldest
    first."""
    return (
        PayoutItem.objects.filter(result=ITEM_REJECTED, released_at__isnull=True)
        .select_related("batch", "batch__provider", "batch__programme", "link", "link__visit")
        .order_by("batch__created_at", "batch_id", "item_id")
    )
