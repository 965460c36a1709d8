"""The one transition table's writer: `case_transition` appends a timeline entry when the
table allows it, with its audit event in the same transaction; the checks every step shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.identity.models import Holder
from madoguchi.plaintext import blank

from ..constants import (
    ALLOWED_TRANSITIONS,
    BEFORE_EARLIEST,
    ENTRY_TARGETS,
    PROGRAMME_STEPS,
    REPAIR_STEP,
    STAGE_OPENERS,
    CaseStatus,
    Channel,
    ComparisonResult,
    DatePrecision,
    EntryKind,
    Party,
    Programme,
    too_early,
)
from ..events import CASES_STEP
from ..models import Case, TimelineEntry
from .access import CaseRefused, require_official


def _check_date(event_date: date | None, precision: DatePrecision | str) -> tuple[date | None, str]:
    precision = DatePrecision(precision)
    if precision == DatePrecision.UNKNOWN:
        return None, precision.value
    if event_date is None:
        raise CaseRefused(
            "date_required",
            _("Give a date, or choose 'date unknown'."),
        )
    if too_early(event_date):
        raise CaseRefused("date_too_early", BEFORE_EARLIEST)
    if event_date > timezone.localdate():
        # A slip of the keys (令和9年 for 令和8年): a step records what happened, and its
        # letter to the resident would say it happened on a day still to come.
        raise CaseRefused(
            "date_in_future",
            _("The date is after today: a case records what has happened. Check the year."),
        )
    if precision == DatePrecision.MONTH:
        event_date = event_date.replace(day=1)
    return event_date, precision.value


def _next_status(kind: EntryKind, current: CaseStatus, to: CaseStatus | None) -> CaseStatus:
    if to is not None:
        return to
    targets = ENTRY_TARGETS[kind]
    if current in targets and kind not in STAGE_OPENERS:
        return current
    if kind == EntryKind.CONTACT and current == CaseStatus.SUSPENDED:
        return CaseStatus.CONTACTING
    if len(targets) == 1:
        return next(iter(targets))
    return current


def _wrong_repair(kind: EntryKind, programme: Programme | str) -> bool:
    """Whether `kind` is another programme's repair step (a point return on a public-fund case,
    a registration's correction on a points case)."""
    return kind in REPAIR_STEP.values() and kind != REPAIR_STEP[Programme(programme)]


def _not_for_programme(kind: EntryKind, programme: Programme | str) -> bool:
    """Whether `kind` is a step only other programmes' cases take (`PROGRAMME_STEPS`: the
    re-grant of returned points, a point case's)."""
    return kind in PROGRAMME_STEPS and Programme(programme) not in PROGRAMME_STEPS[kind]


def step_allowed(
    kind: EntryKind, current: CaseStatus, programme: Programme | str = Programme.POINTS
) -> bool:
    """Whether an entry of `kind` may be appended while a case of `programme` is `current`
    (the table, and the programme's repair step)."""
    target = _next_status(kind, current, None)
    return (
        target in ALLOWED_TRANSITIONS[current]
        and target in ENTRY_TARGETS[kind]
        and STAGE_OPENERS.get(kind) != current
        and not _wrong_repair(kind, programme)
        and not _not_for_programme(kind, programme)
    )


_NO_POINTS = {
    Programme.PUBLIC_FUND: _(
        "A public-fund account case has no points to return: record the correction of the "
        "account's registration instead."
    ),
    Programme.HEALTH_INSURANCE: _(
        "A health-insurance registration case has no points to return: record the correction "
        "of the registration instead."
    ),
}


def _lock_for_step(
    case: Case, kind: EntryKind, to: CaseStatus | None = None
) -> tuple[Case, TimelineEntry | None, CaseStatus, CaseStatus]:
    """Inside a transaction: lock the case and check that the step is allowed now; return the
    locked case, its last entry, its status and the status the step leads to.

    The case's resident is locked first: a step's letter to them (``residents.notices``) checks
    its key to their row at commit, after the case's lock, while "this was not me" locks the
    resident's row, then the case it joins. In the two orders the two deadlocked; holder before
    case is the one order."""
    holder_id = Case.objects.filter(pk=case.pk).values_list("holder_id", flat=True).first()
    if holder_id is not None:
        Holder.objects.select_for_update(no_key=True).filter(pk=holder_id).first()
    locked = Case.objects.select_for_update().get(pk=case.pk)
    last = locked.timeline.order_by("-seq").first()
    current = CaseStatus(last.status) if last else CaseStatus.INTAKE
    target = _next_status(kind, current, to)
    if _wrong_repair(kind, locked.programme):
        raise CaseRefused(
            "repair_not_for_programme",
            _NO_POINTS.get(
                Programme(locked.programme),
                _(
                    "A point programme's case returns the points; a registration's correction "
                    "is for public-fund and health-insurance cases."
                ),
            ),
        )
    if _not_for_programme(kind, locked.programme):
        raise CaseRefused(
            "step_not_for_programme",
            _("“%(step)s” is not a step of a %(programme)s case."),
            params={"step": kind.label, "programme": Programme(locked.programme).label},
        )
    if (
        target not in ALLOWED_TRANSITIONS[current]
        or target not in ENTRY_TARGETS[kind]
        or STAGE_OPENERS.get(kind) == current
    ):
        raise CaseRefused(
            "transition_not_allowed",
            _("“%(step)s” is not allowed while the case is “%(status)s”."),
            params={"step": kind.label, "status": current.label},
        )
    return locked, last, current, target


def case_transition(
    case: Case,
    *,
    actor: User,
    kind: EntryKind,
    summary: str,
    to: CaseStatus | None = None,
    event_date: date | None = None,
    date_precision: DatePrecision | str = DatePrecision.DAY,
    party: Party | str = "",
    party_label: str = "",
    channel: Channel | str = "",
    comparison: ComparisonResult | str = "",
    detail: dict[str, Any] | None = None,
    fits: Callable[[CaseStatus], None] | None = None,
) -> TimelineEntry:
    """Append one timeline entry if the transition table allows it. The only place that does.
    ``fits``: a further check of the step against the case's status (under the case's lock),
    which raises `CaseRefused` when the step does not fit it."""
    require_official(actor)
    kind = EntryKind(kind)
    if blank(summary):  # white space, or characters that show nothing (U+200B)
        raise CaseRefused("summary_required", _("A summary is required."))
    event_date, precision = _check_date(event_date, date_precision)
    with transaction.atomic():
        locked, last, current, target = _lock_for_step(case, kind, to)
        if fits is not None:
            fits(current)
        entry = TimelineEntry.objects.create(
            case=locked,
            seq=(last.seq + 1) if last else 1,
            kind=kind,
            status=target,
            event_date=event_date,
            date_precision=precision,
            party=str(party),
            party_label=party_label,
            channel=str(channel),
            summary=summary,
            comparison=str(comparison),
            detail=detail or {},
            actor=actor,
        )
        _step_recorded(locked, entry, actor=actor, before=current)
    return entry


def _step_recorded(case: Case, entry: TimelineEntry, *, actor: User, before: CaseStatus) -> None:
    """The audit event of a timeline entry just appended (the status before it given)."""
    audit.record(
        CASES_STEP,
        actor=actor,
        subject=case,
        payload={
            "case": case.reference,
            "kind": str(entry.kind),
            "from_status": before.value,
            "to_status": str(entry.status),
            "entry": entry.seq,
        },
    )
