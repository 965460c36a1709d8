"""A desk session that closes ends its terminal's open visit, in the same transaction."""

from typing import Any

from django.dispatch import receiver

from madoguchi.terminals.services import desk_session_closed

from .constants import VisitEndReason
from .models import Visit
from .services import end_locked


@receiver(desk_session_closed, dispatch_uid="madoguchi.desk.end_visit_on_sign_out")
def end_visit_on_desk_session_close(sender: Any, session: Any, reason: Any, **kwargs: Any) -> None:
    for visit in Visit.objects.select_for_update().filter(
        desk_session=session, ended_at__isnull=True
    ):
        end_locked(visit, VisitEndReason.DESK_SESSION_CLOSED, actor=session.staff)
