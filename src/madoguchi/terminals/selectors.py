"""Reads about terminals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from .constants import DeskSessionCloseReason
from .models import DeskSession, Terminal


def visible_terminals(user: Any) -> QuerySet[Terminal]:
    """Desks a user may see: a contractor's own; a city's contractors' (never another city's);
    all for a superuser; none for anyone without an organisation. The one rule for every page
    that lists desks, their visits, sessions or reports."""
    qs = Terminal.objects.select_related("contractor").order_by("name")
    if user.is_superuser:
        return qs
    if user.organisation_id is None:
        return qs.none()
    org = user.organisation
    if org.kind == "city":
        return qs.filter(Q(contractor__city=org) | Q(contractor=org))
    return qs.filter(contractor=org)


def terminal_with_contractor(terminal_id: int) -> Terminal | None:
    return Terminal.objects.select_related("contractor").filter(pk=terminal_id).first()


def open_desk_session(desk_session_id: int | None, *, staff: Any) -> DeskSession | None:
    """The desk session this browser's session names, if it is still open and `staff`'s."""
    if not desk_session_id:
        return None
    return DeskSession.objects.filter(
        pk=desk_session_id, staff_id=staff.pk, closed_at__isnull=True
    ).first()


def terminals_for(user: Any) -> list[Terminal]:
    return list(visible_terminals(user))


@dataclass(frozen=True)
class DeskSignInEnd:
    """Why a staff member's last desk sign-in on a terminal closed: its close reason, and for
    one superseded by the same staff member's sign-in on another terminal, that terminal."""

    reason: str
    elsewhere: Terminal | None = None


def desk_sign_in_end(*, terminal: Terminal, staff: Any) -> DeskSignInEnd | None:
    """The end of `staff`'s latest closed desk session on `terminal` (None when they have
    none there): what the desk page says to them when their sign-in there is gone."""
    last = (
        DeskSession.objects.filter(terminal=terminal, staff=staff, closed_at__isnull=False)
        .order_by("-closed_at", "-pk")
        .only("close_reason", "closed_at")
        .first()
    )
    if last is None:
        return None
    elsewhere = None
    if last.close_reason == DeskSessionCloseReason.SUPERSEDED:
        # The sign-in that closed it opened as it closed it, on another terminal or by another
        # staff member on this one (terminals.services.desk_session_open).
        successor = (
            DeskSession.objects.filter(staff=staff, opened_at__gte=last.closed_at)
            .exclude(terminal=terminal)
            .select_related("terminal")
            .order_by("opened_at", "pk")
            .first()
        )
        # Another staff member's sign-in here, if it came first, is what closed it.
        here = (
            DeskSession.objects.filter(terminal=terminal, opened_at__gte=last.closed_at)
            .order_by("opened_at", "pk")
            .only("opened_at")
            .first()
        )
        if successor is not None and (here is None or successor.opened_at <= here.opened_at):
            elsewhere = successor.terminal
    return DeskSignInEnd(reason=last.close_reason, elsewhere=elsewhere)
