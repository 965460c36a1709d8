"""Reads for a visit's checklist, as the pages show it."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from madoguchi.desk.models import Visit

from . import services
from .constants import Stage, Withdrawal
from .models import ChecklistItem, ChecklistTick


@dataclass(frozen=True)
class Row:
    item: ChecklistItem
    tick: ChecklistTick | None

    @property
    def ticked(self) -> bool:
        return self.tick is not None and self.tick.ticked

    @property
    def round(self) -> int:
        """The completion round the row shows (the form sends it back: `tick_many`)."""
        return int(getattr(self.item, "current_round", 0) or 0)

    @property
    def withdrawn_by_summary(self) -> bool:
        """Withdrawn by the system because the summary changed (the page says so)."""
        return self.tick is not None and self.tick.reason == Withdrawal.SUMMARY_CHANGED


def rows(visit: Visit, stage: str, completion_round: int | None = None) -> list[Row]:
    return [
        Row(item=i, tick=t) for i, t in services.items_with_ticks(visit, stage, completion_round)
    ]


def history(visit: Visit) -> list[ChecklistTick]:
    """The visit's ticks in order, each with the completion it belongs to (`completion`, as
    the officials' visit page names it): a before-completion tick of round n is for the
    visit's completion n + 1 (「2件目の確定」, or 「2件目の確定（確定されていません）」 when
    the visit made no such completion), an after-completion tick of round n for completion n."""
    made = visit.completions.count()
    ticks = list(
        ChecklistTick.objects.filter(visit=visit).select_related("item", "staff").order_by("pk")
    )
    for tick in ticks:
        before = tick.item.stage == Stage.BEFORE_COMPLETION
        number = tick.completion_round + 1 if before else tick.completion_round
        if number > made:
            tick.completion = _("Completion %(n)s (not committed)") % {"n": number}  # type: ignore[attr-defined]
        else:
            tick.completion = _("Completion %(n)s") % {"n": number}  # type: ignore[attr-defined]
    return ticks
