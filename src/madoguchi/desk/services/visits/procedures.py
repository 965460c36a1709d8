"""A visit's procedures before completion: prepared (validated, stored pending) and discarded."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.prepared import Prepared, insert, update_fields
from madoguchi.refusals import ByLanguage
from madoguchi.terminals.models import DeskSession

from ... import procedures as registry
from ... import text as text_rules
from ...constants import ProcedureStatus
from ...events import VISITS_PROCEDURE_DISCARDED, VISITS_PROCEDURE_PREPARED
from ...models import Procedure, Visit
from ...procedures import ProcedureInvalid
from .current import _require_open, visit_current
from .refusals import FieldsRefused, VisitRefused, refuse_unless_expected

_PROCEDURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def unknown_procedure(kind: str) -> VisitRefused:
    """The refusal of a kind no handler takes. The kind is repeated only when it has the shape
    of a procedure's name: the client's own bytes (markup, control characters, a megabyte) are
    never echoed back; the code stays `unknown_procedure`."""
    if _PROCEDURE_NAME.fullmatch(kind):
        return VisitRefused.of("unknown_procedure", kind=kind)
    refused = VisitRefused.of("unknown_procedure_unnamed")
    refused.code = "unknown_procedure"
    return refused


def procedure_prepare(
    *,
    desk_session: DeskSession,
    kind: str,
    fields: dict[str, Any],
    expected_visit: str | None = None,
) -> Procedure:
    """Validate a procedure's fields (handlers may call outside systems) and store it pending.

    Cleaning runs outside the visit's lock, since it may wait on an outside system; the visit
    is checked again, locked, before the procedure is stored. `expected_visit`: the visit the
    call was made for, compared before cleaning (no outside look-up for another visit) and
    again under the lock (`refuse_unless_expected`).
    """
    handler = registry.get(kind)
    if handler is None:
        raise unknown_procedure(kind)
    visit = visit_current(desk_session=desk_session)
    refuse_unless_expected(visit, expected_visit)
    if visit is None:
        raise VisitRefused.of("no_open_visit")
    bad = text_rules.bad_fields(fields)
    if bad:
        raise FieldsRefused(errors=text_rules.shown_errors(bad))
    _refuse_beyond_pending_limit(visit)  # before the look-up the procedure may make
    cleaned = handler.clean(visit, fields)  # raises ProcedureInvalid (a Refusal) as it is
    with transaction.atomic():
        locked = _require_open(desk_session, expected_visit=expected_visit)
        if locked.pk != visit.pk:
            raise VisitRefused.of("no_open_visit")
        _refuse_beyond_pending_limit(locked)  # again under the visit's lock
        _refuse_second_of_one(handler, locked, cleaned)
        procedure = insert(Procedure(visit=locked, kind=kind, fields=cleaned))
        audit.record(
            VISITS_PROCEDURE_PREPARED,
            actor=desk_session.staff,
            terminal=locked.terminal,
            subject=procedure,
            payload={"visit": locked.reference, "kind": kind},
        )
        for hook in registry.SUMMARY_CHANGE_HOOKS:
            hook(locked)
    return procedure


def _refuse_second_of_one(handler: Any, visit: Visit, cleaned: dict[str, Any]) -> None:
    """Refuse a procedure that registers what the resident has once (`one_per_visit`) when the
    visit already holds one pending with the same key: its completion could only fail after
    the resident's PIN. Under the visit's lock (two tabs preparing at once take turns)."""
    key_of = getattr(handler, "one_per_visit", None)
    if key_of is None:
        return
    key = key_of(cleaned)
    pending = Procedure.objects.filter(
        visit=visit, kind=handler.kind, status=ProcedureStatus.PENDING
    ).values_list("fields", flat=True)
    if any(key_of(fields) == key for fields in pending):
        raise ProcedureInvalid(
            "already_pending",
            _(
                "This visit already holds %(procedure)s for the resident, and one is registered "
                "per resident: discard that one first to enter it again. Nothing was stored."
            ),
            params={"procedure": ByLanguage(handler.label_ja, handler.label_en)},
        )


# How many procedures a visit holds pending, compiled once per process (issue 15, thirteenth
# round: the ORM's count() built and compiled its query twice on every prepare). One row, the
# count, or none when the visit holds none.
_PENDING_COUNT = Prepared(
    lambda visit_id: (
        Procedure.objects.filter(visit_id=visit_id, status=ProcedureStatus.PENDING)
        .values("visit_id")
        .annotate(pending=Count("pk"))
        .values_list("pending", flat=True)
    ),
    visit_id=-16,
)


def _refuse_beyond_pending_limit(visit: Visit) -> None:
    """Refuse one more procedure when the visit already holds `VISIT_PENDING_PROCEDURES_MAX`
    pending (a fuzz left 280 in one visit, each an outside look-up; a desk never needs that)."""
    limit = int(settings.VISIT_PENDING_PROCEDURES_MAX)
    counted = _PENDING_COUNT.rows(visit_id=visit.pk)
    pending = int(counted[0]) if counted else 0
    if pending >= limit:
        raise VisitRefused.of("too_many_pending", detail=f"{pending} pending", limit=limit)


def procedure_discard(
    *, desk_session: DeskSession, procedure_id: int, expected_visit: str | None = None
) -> None:
    """Discard a pending procedure of the open visit. `expected_visit`: the visit the form was
    shown for, compared under the visit's lock (`refuse_unless_expected`): a tab left on an
    earlier visit's page is refused as stale, not told the procedure is not pending."""
    with transaction.atomic():
        visit = _require_open(desk_session, expected_visit=expected_visit)
        p = (
            visit.procedures.select_for_update()
            .filter(pk=procedure_id, status=ProcedureStatus.PENDING)
            .first()
        )
        if p is None:
            raise VisitRefused.of("procedure_not_pending")
        p.status = ProcedureStatus.DISCARDED
        update_fields(p, ["status", "updated_at"])
        audit.record(
            VISITS_PROCEDURE_DISCARDED,
            actor=desk_session.staff,
            terminal=visit.terminal,
            subject=p,
            payload={"visit": visit.reference, "kind": p.kind},
        )
        for hook in registry.SUMMARY_CHANGE_HOOKS:
            hook(visit)
