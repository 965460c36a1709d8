"""A desk session that closes ends its terminal's open visit, in the same transaction."""

from typing import Any

from django.dispatch import receiver

from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.services import desk_session_closed, desk_sessions_closing

from .constants import VisitEndReason
from .models import Visit
from .procedures import DESK_MOVES_ON_HOOKS
from .services import end_locked


@receiver(desk_session_closed, dispatch_uid="madoguchi.desk.end_visit_on_sign_out")
def end_visit_on_desk_session_close(sender: Any, session: Any, reason: Any, **kwargs: Any) -> None:
    # A visit that ended before (the card taken back) is no longer shown at the desk either.
    for hook in DESK_MOVES_ON_HOOKS:
        hook(session)
    # Closed by the sweeper for inactivity: the desk and the audit say so, not "signed out".
    end = (
        VisitEndReason.DESK_SESSION_IDLE
        if reason == DeskSessionCloseReason.IDLE
        else VisitEndReason.DESK_SESSION_CLOSED
    )
    for visit in Visit.objects.select_for_update().filter(
        desk_session=session, ended_at__isnull=True
    ):
        end_locked(visit, end, actor=session.staff)


@receiver(desk_sessions_closing, dispatch_uid="madoguchi.desk.lock_visits_before_sign_out")
def lock_visits_of_closing_desk_sessions(sender: Any, sessions: Any, **kwargs: Any) -> None:
    """Several desk sessions are about to close in one transaction: lock all their open visits
    now, before the first close records audit events (row locks first, the audit log last)."""
    list(
        Visit.objects.select_for_update()
        .filter(desk_session__in=[s.pk for s in sessions], ended_at__isnull=True)
        .order_by("pk")
    )
