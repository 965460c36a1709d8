"""Reads for a visit's checklist, as the pages show it."""

from __future__ import annotations

from dataclasses import dataclass

from madoguchi.desk.models import Visit

from . import services
from .constants import Withdrawal
from .models import ChecklistItem, ChecklistTick


@dataclass(frozen=True)
class Row:
    item: ChecklistItem
    tick: ChecklistTick | None

    @property
    def ticked(self) -> bool:
        return self.tick is not None and self.tick.ticked

    @property
    def withdrawn_by_summary(self) -> bool:
        """Withdrawn by the system because the summary changed (the page says so)."""
        return self.tick is not None and self.tick.reason == Withdrawal.SUMMARY_CHANGED


def rows(visit: Visit, stage: str) -> list[Row]:
    return [Row(item=i, tick=t) for i, t in services.items_with_ticks(visit, stage)]


def history(visit: Visit) -> list[ChecklistTick]:
    return list(
        ChecklistTick.objects.filter(visit=visit).select_related("item", "staff").order_by("pk")
    )
