"""Tick the checklist as staff do before a completion (the checklist fails closed)."""

from __future__ import annotations

from madoguchi.checklists import services as checklists
from madoguchi.checklists.constants import Stage
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Visit
from madoguchi.terminals.models import DeskSession


def tick_before(where: DeskSession | Visit) -> None:
    """Tick every required before-completion item of the open visit.

    The default checklist is installed by a migration; tests with real transactions flush it,
    so it is installed again here (idempotent)."""
    checklists.template_install_default()
    visit = where if isinstance(where, Visit) else desk_services.visit_current(desk_session=where)
    if visit is None:
        return
    missing = {item.code for item in checklists.missing(visit, Stage.BEFORE_COMPLETION)}
    if missing:  # in one transaction, as the desk page's form does (the form's whole state)
        ticked = {row.item.code for row in checklists.ticked_state(visit).values() if row.ticked}
        checklists.tick_many(
            visit=visit, stage=Stage.BEFORE_COMPLETION, codes=missing | ticked, staff=visit.staff
        )
