"""Reads for visits."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from madoguchi.prepared import raw
from madoguchi.terminals.models import DeskSession

from .models import Completion, Visit
from .services import lapse, seconds_left, visit_current


def visit_summary(visit: Visit, *, new: bool = False) -> dict[str, Any]:
    """The visit as the desk page shows it. `new`: the visit was created in this request (no
    procedures, no completions yet), so neither is read (issue 15: two statements fewer)."""
    now = timezone.now()
    return {
        "reference": visit.reference,
        "started_at": visit.started_at.isoformat(),
        "seconds_left": seconds_left(visit, now),
        "card_confirmed_seconds_ago": max(0, int((now - visit.last_presence_at).total_seconds())),
        "procedures": [
            {"id": p.pk, "kind": p.kind, "fields": shown_fields(p.fields), "status": p.status}
            for p in ([] if new else visit.procedures.order_by("pk"))
        ],
        "completions": 0 if new else visit.completions.count(),
        "handover": visit.handover_at is not None,
        "second_card": visit.companion_certificate_id is not None,
    }


def shown_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A procedure's fields as the desk page may see them: without keyed hashes and without
    the values a handler keeps only until commit (keys starting with "_")."""
    return {k: v for k, v in fields.items() if not k.startswith("_") and not k.endswith("_hash")}


@dataclass(frozen=True)
class VisitState:
    """What the desk page's once-a-second poll needs: the visit, when it ends if nothing more
    happens, when the card was last confirmed. `etag` changes whenever any of them does."""

    reference: str
    ends_at: datetime
    card_confirmed_at: datetime

    @property
    def etag(self) -> str:
        text = f"{self.reference}|{self.ends_at.isoformat()}|{self.card_confirmed_at.isoformat()}"
        return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


_STATE_FIELDS = (
    "id",
    "public_id",
    "desk_session_id",
    "started_at",
    "last_activity_at",
    "handover_at",  # the lapse rules read it (a handover allows an empty reader)
)


@functools.cache
def _state_sql() -> str:
    """The poll's query, written once (issue 15: a raw query is not built and compiled by the
    ORM on every poll). The names are the model's; the terminal is a parameter."""
    q = connection.ops.quote_name

    def column(name: str) -> str:
        return str(q(Visit._meta.get_field(name).column))  # type: ignore[union-attr,arg-type]

    columns = ", ".join(column(name) for name in (*_STATE_FIELDS, "last_presence_at"))
    ended = column("ended_at")
    terminal = column("terminal")
    table = q(Visit._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE {terminal} = %s AND {ended} IS NULL LIMIT 1"  # noqa: S608


def visit_state(desk_session: DeskSession) -> VisitState | None:
    """The open visit's state for the poll, in one indexed query (the terminal's open visit);
    None when there is none for this desk session. A lapsed visit is ended as `visit_current`
    ends it (then None)."""
    # The rows as `Visit.objects.raw` gives them, its column work done once (issue 15).
    rows = raw(Visit, _state_sql(), [desk_session.terminal_id])
    row = rows[0] if rows else None
    if row is None or row.desk_session_id != desk_session.pk:
        return None
    if lapse(row, timezone.now()) is not None:
        visit_current(desk_session=desk_session)  # ends it, under its lock
        return None
    ends_at = min(
        row.started_at + timedelta(seconds=settings.VISIT_ABSOLUTE_SECONDS),
        row.last_activity_at + timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS),
    )
    return VisitState(
        reference=row.reference, ends_at=ends_at, card_confirmed_at=row.last_presence_at
    )


def open_visit_reference(desk_session: DeskSession) -> str | None:
    """The reference of the visit open at this desk session's terminal, if it is this desk
    session's: only read (the poll's one query), so that a call made for another visit is
    refused before anything is written (`desk.api`). A lapsed visit is still named here: the
    call it gets is refused by the service, which ends it."""
    rows = raw(Visit, _state_sql(), [desk_session.terminal_id])
    row = rows[0] if rows else None
    if row is None or row.desk_session_id != desk_session.pk:
        return None
    return str(row.reference)


def latest_visit(desk_session: DeskSession) -> Visit | None:
    """This desk session's latest visit: the current one, or the one just ended until the next
    starts (the order `shown_at_desk` goes by)."""
    return Visit.objects.filter(desk_session=desk_session).order_by("-started_at", "-pk").first()


def desk_completion(completion_id: int, desk_session: DeskSession | None) -> Completion | None:
    """A completion of one of this desk session's visits, with its visit, terminal and staff;
    None for another desk's, so that nobody learns whether another desk's exists."""
    if desk_session is None:
        return None
    return (
        Completion.objects.select_related(
            "visit", "visit__desk_session", "visit__terminal", "visit__staff"
        )
        .filter(pk=completion_id, visit__desk_session=desk_session)
        .first()
    )


def shown_at_desk(completion: Any, desk_session: DeskSession) -> bool:
    """Whether the desk may show or send `completion` now: a completion of this desk session's
    latest visit (the current one, or the one just ended until the next starts: a reprint
    right after completion). An earlier resident's is never shown to the next (the receipt
    PDF, the notice email)."""
    if completion.visit.desk_session_id != desk_session.pk:
        return False
    latest = (
        Visit.objects.filter(desk_session=desk_session)
        .order_by("-started_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    return latest == completion.visit_id
