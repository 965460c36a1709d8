"""Checklist writes and the check that blocks a completion whose required items are not ticked.

`pre_completion_check` is registered in `madoguchi.desk.procedures.PRE_COMPLETION_CHECKS`
(by this app's `ready()`); the desk's completion challenge and commit call it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk import procedures as desk_procedures
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.incidents.services import incident_record
from madoguchi.prepared import Prepared, insert_many
from madoguchi.refusals import ByLanguage, Refusal
from madoguchi.terminals.models import DeskSession

from .constants import (
    DEFAULT_ITEMS,
    DEFAULT_TEMPLATE_NAME,
    ONCE_PER_VISIT_ITEMS,
    SUMMARY_ITEMS,
    Stage,
    Withdrawal,
)
from .events import (
    CHECKLISTS_SUMMARY_CHANGED,
    CHECKLISTS_TICKED,
    CHECKLISTS_VERSION_ACTIVATED,
    CHECKLISTS_VERSION_CREATED,
)
from .models import ChecklistItem, ChecklistTemplate, ChecklistTick


class ChecklistRefused(Refusal):
    """A refused checklist operation."""

    code = "checklist_refused"
    status = 409


class ChecklistIncomplete(ChecklistRefused):
    """Required checklist items are not ticked; `missing` lists them."""

    code = "checklist_incomplete"
    message = _("Required checklist items are not ticked: %(items)s")

    def __init__(self, missing: list[ChecklistItem]) -> None:
        self.missing = missing
        super().__init__(
            detail=",".join(i.code for i in missing),
            params={
                "items": ByLanguage(
                    "、".join(f"「{i.label_ja}」" for i in missing),
                    "; ".join(i.label_en for i in missing),
                )
            },
        )


class ChecklistStale(ChecklistRefused):
    """A checklist form shown for an earlier summary or an earlier completion of the visit:
    a tab left open while another tab prepared, discarded or committed. Nothing is recorded;
    the page is to be reloaded, and the summary now shown confirmed again."""

    code = "checklist_stale"
    message = _(
        "This page showed an earlier summary or an earlier completion of this visit, so "
        "nothing was ticked. Reload the page, have the resident confirm the summary shown now, "
        "then tick again."
    )

    @classmethod
    def of_stage(cls, stage: str) -> ChecklistStale:
        if stage == Stage.BEFORE_COMPLETION:
            return cls()
        return cls(
            message=_(
                "This page was shown for another completion of this visit, so nothing was "
                "ticked. Reload the page to see the receipt of the latest completion, and tick "
                "again."
            )
        )


class ChecklistMissing(ChecklistRefused):
    """No active checklist: the checklist fails closed (nothing is committed unchecked)."""

    code = "checklist_missing"
    message = _(
        "No checklist is active, so nothing can be committed. Ask an operator to activate one "
        "(madoguchi checklist install-default)."
    )


# --- templates -------------------------------------------------------------------------------


_TEMPLATE_ACTIVE = Prepared(
    lambda name: ChecklistTemplate.objects.filter(name=name, is_active=True)[:1],
    name="-name-",
)


def template_active(name: str = DEFAULT_TEMPLATE_NAME) -> ChecklistTemplate | None:
    found = _TEMPLATE_ACTIVE(name=name)  # compiled once per process (issue 15)
    return found[0] if found else None


def template_install_default(*, actor: Any = None) -> ChecklistTemplate:
    """The desk manual's checklist as version 1, active; idempotent (keeps what exists)."""
    with transaction.atomic():
        existing = (
            ChecklistTemplate.objects.select_for_update()
            .filter(name=DEFAULT_TEMPLATE_NAME)
            .order_by("-is_active", "-version")
            .first()
        )
        if existing is not None:
            return existing
        template = ChecklistTemplate.objects.create(
            name=DEFAULT_TEMPLATE_NAME,
            version=1,
            is_active=True,
            note="desk manual",
            created_by=actor,
        )
        for order, (code, ja, en, stage, required, kinds) in enumerate(DEFAULT_ITEMS):
            ChecklistItem.objects.create(
                template=template,
                code=code,
                label_ja=ja,
                label_en=en,
                stage=stage,
                required=required,
                procedures=kinds,
                order=order * 10,
            )
    return template


def template_new_version(
    *, template: ChecklistTemplate, actor: Any = None, note: str = ""
) -> ChecklistTemplate:
    """A copy of `template` as the next version, inactive, with the same items (to edit)."""
    with transaction.atomic():
        latest = (
            ChecklistTemplate.objects.select_for_update()
            .filter(name=template.name)
            .order_by("-version")
            .first()
        )
        version = (latest.version if latest else 0) + 1
        copy = ChecklistTemplate.objects.create(
            name=template.name, version=version, is_active=False, note=note, created_by=actor
        )
        for item in template.items.all():
            ChecklistItem.objects.create(
                template=copy,
                code=item.code,
                label_ja=item.label_ja,
                label_en=item.label_en,
                stage=item.stage,
                required=item.required,
                procedures=list(item.procedures),
                order=item.order,
            )
        audit.record(
            CHECKLISTS_VERSION_CREATED,
            actor=actor,
            subject=copy,
            payload={"name": copy.name, "version": copy.version},
        )
    return copy


def refuse_unchecked(template: ChecklistTemplate, items: Iterable[ChecklistItem]) -> None:
    """Refuse `items` as `template`'s (the version active, or to be made so) when a procedure
    the desk offers has no required before-completion item among them: its completions would
    commit with nothing ticked."""
    required = [i for i in items if i.required and i.stage == Stage.BEFORE_COMPLETION]
    unchecked = [
        h.kind
        for h in desk_procedures.available()
        if not any(i.applies_to({h.kind}) for i in required)
    ]
    if unchecked:
        raise ChecklistRefused(
            "template_checks_nothing",
            _(
                "%(template)s has no required item to tick before the completion of: "
                "%(kinds)s. Their completions would commit with nothing checked. Nothing was "
                "changed: add a required before-completion item for them first."
            ),
            params={
                "template": str(template),
                "kinds": ByLanguage(
                    "、".join(desk_procedures.label(k, "ja") for k in unchecked),
                    ", ".join(desk_procedures.label(k, "en") for k in unchecked),
                ),
            },
        )


def template_activate(*, template: ChecklistTemplate, actor: Any = None) -> ChecklistTemplate:
    """Make `template` the version new visits use. Visits already ticking keep theirs.
    Refused, nothing changed, for a checklist the desk does not use (another name) and for a
    version under which some procedure's completion would need no tick at all."""
    if template.name != DEFAULT_TEMPLATE_NAME:
        raise ChecklistRefused(
            "template_not_used",
            _(
                "The desk uses the checklist named “%(desk)s”; “%(name)s” would be used by no "
                "desk. Nothing was changed: copy a version of “%(desk)s” and edit it instead."
            ),
            params={"desk": DEFAULT_TEMPLATE_NAME, "name": template.name},
        )
    refuse_unchecked(template, template.items.all())
    with transaction.atomic():
        ChecklistTemplate.objects.select_for_update().filter(name=template.name).exclude(
            pk=template.pk
        ).update(is_active=False)
        ChecklistTemplate.objects.filter(pk=template.pk).update(is_active=True)
        template.is_active = True
        audit.record(
            CHECKLISTS_VERSION_ACTIVATED,
            actor=actor,
            subject=template,
            payload={"template": template.name, "version": template.version},
        )
    return template


# --- a visit's checklist -----------------------------------------------------------------------


def template_for_visit(visit: Visit) -> ChecklistTemplate | None:
    """The version this visit is checked against: the one its first tick used, else the active."""
    first = (
        ChecklistTick.objects.filter(visit=visit).select_related("item__template").order_by("pk")
    ).first()
    if first is not None:
        return first.item.template
    return template_active()


def _kinds(visit: Visit, stage: str) -> set[str]:
    pending = getattr(visit, "pending_procedures", None)
    if stage == Stage.BEFORE_COMPLETION and pending is not None:
        # Read (and locked) in this request by the desk's `build_transaction` (issue 15).
        return {p.kind for p in pending}
    committed = getattr(visit, "ended_procedure_kinds", None)
    if stage == Stage.AFTER_COMPLETION and committed is not None:
        # Read by the desk's `end_locked` in this transaction, under the visit's lock.
        return set(committed)
    status = (
        ProcedureStatus.PENDING if stage == Stage.BEFORE_COMPLETION else ProcedureStatus.COMMITTED
    )
    return set(_PROCEDURE_KINDS.rows(visit_id=visit.pk, status=str(status)))


def _procedure_kinds(visit_id: int, status: str) -> QuerySet[Any]:
    return Procedure.objects.filter(visit_id=visit_id, status=status).values_list("kind", flat=True)


def _pending_ids_and_kinds(visit_id: int) -> QuerySet[Any]:
    return Procedure.objects.filter(visit_id=visit_id, status=ProcedureStatus.PENDING).values_list(
        "pk", "kind"
    )


# The visit's pending procedures' ids and kinds: what the confirmation page's summary was made
# of (`desk.procedures.summary_stamp`), read instead of their kinds alone when a form says which
# summary it showed (no statement more), compiled once per process (issue 15).
_PENDING_IDS_AND_KINDS = Prepared(_pending_ids_and_kinds, visit_id=-15)


# The kinds of a visit's procedures in one status, compiled once per process (issue 15, ninth
# round: the checklist ticks built and compiled this query on every form).
_PROCEDURE_KINDS = Prepared(_procedure_kinds, visit_id=-15, status="-status-")


def items_for(visit: Visit, stage: str) -> list[ChecklistItem]:
    """The items of `stage` that apply to this visit's procedures (none when nothing applies)."""
    return items_of(template_for_visit(visit), visit, stage)


def items_of(template: ChecklistTemplate | None, visit: Visit, stage: str) -> list[ChecklistItem]:
    """`items_for` with the visit's version already known."""
    if template is None:
        return []
    kinds = _kinds(visit, stage)
    if not kinds:
        return []
    items = _ITEMS_OF(template_id=template.pk, stage=str(stage))
    for item in items:
        item.template = template  # as `template.items` gives them
    return [i for i in items if i.applies_to(kinds)]


_ITEMS_OF = Prepared(
    lambda template_id, stage: ChecklistItem.objects.filter(template_id=template_id, stage=stage),
    template_id=-15,
    stage="-stage-",
)


def _round(visit_id: int) -> Coalesce:
    """The visit's current completion round: how many completions it has committed. Only the
    ticks of this round count (`ChecklistTick.completion_round`)."""
    done = (
        Completion.objects.filter(visit_id=visit_id)
        .order_by()
        .values("visit_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(done[:1]), 0, output_field=BigIntegerField())


def current_round(visit: Visit) -> int:
    return Completion.objects.filter(visit_id=visit.pk).count()


def ticked_state(visit: Visit) -> dict[int, ChecklistTick]:
    """Item id -> the latest row for it in this visit's current completion round (ticked or
    withdrawn)."""
    state: dict[int, ChecklistTick] = {}
    rows = ChecklistTick.objects.filter(visit=visit, completion_round=current_round(visit))
    for row in rows.select_related("staff").order_by("pk"):
        state[row.item_id] = row
    return state


def _template_and_state(visit: Visit) -> tuple[int | None, dict[int, ChecklistTick]]:
    """The visit's checklist version (its first tick's, else the active one) and its ticks of
    the current completion round."""
    ticks = list(ChecklistTick.objects.filter(visit=visit).select_related("item").order_by("pk"))
    if ticks:
        now = current_round(visit)
        return ticks[0].item.template_id, {t.item_id: t for t in ticks if t.completion_round == now}
    active = template_active()
    return (active.pk if active is not None else None), {}


def _missing(
    visit: Visit, stage: str, template_id: int | None, state: dict[int, ChecklistTick]
) -> list[ChecklistItem]:
    kinds = _kinds(visit, stage)
    if not kinds or template_id is None:
        return []
    items = ChecklistItem.objects.filter(template_id=template_id, stage=stage, required=True)
    return [i for i in items if i.applies_to(kinds) and not (i.pk in state and state[i.pk].ticked)]


def _items_with_latest_query(
    visit_id: int, stage: str, completion_round: int | None = None
) -> QuerySet[ChecklistItem]:
    """The items of `stage` in the visit's version (its first tick's, else the active one), each
    with `latest_ticked`: the state of the visit's latest row for it in its current completion
    round (True, False, None when not ticked in this round), and that round (`current_round`).
    `completion_round`: that round instead of the current one (an earlier completion's receipt
    left open in a tab)."""
    ticks = ChecklistTick.objects.filter(visit_id=visit_id)
    active = ChecklistTemplate.objects.filter(name=DEFAULT_TEMPLATE_NAME, is_active=True)
    version = Coalesce(
        Subquery(ticks.order_by("pk").values("item__template_id")[:1]),
        Subquery(active.values("pk")[:1]),
        output_field=BigIntegerField(),
    )
    latest = (
        ticks.filter(item=OuterRef("pk"), completion_round=_shown_round(visit_id, completion_round))
        .order_by("-pk")
        .values("ticked")[:1]
    )
    return ChecklistItem.objects.filter(template_id=version, stage=stage).annotate(
        latest_ticked=Subquery(latest), current_round=_shown_round(visit_id, completion_round)
    )


def _shown_round(visit_id: int, completion_round: int | None) -> Any:
    if completion_round is None:
        return _round(visit_id)
    return Value(completion_round, output_field=BigIntegerField())


def _with_tick_ids(
    visit_id: int, stage: str, completion_round: int | None = None
) -> QuerySet[ChecklistItem]:
    """`_items_with_latest_query`, each item with its version (`template`) and the pk of the
    visit's latest row for it in the current round, or `completion_round` (`latest_tick_id`)."""
    latest = ChecklistTick.objects.filter(
        visit_id=visit_id,
        item=OuterRef("pk"),
        completion_round=_shown_round(visit_id, completion_round),
    ).order_by("-pk")
    return (
        _items_with_latest_query(visit_id, stage, completion_round)
        .annotate(latest_tick_id=Subquery(latest.values("pk")[:1]))
        .select_related("template")
    )


# Compiled once per process (issue 15: building and compiling it was a tenth of the server's
# Python time on the completion path).
_REQUIRED_WITH_STATE = Prepared(
    lambda visit_id, stage: _items_with_latest_query(visit_id, stage).filter(required=True),
    visit_id=-15,
    stage="-stage-",
)
_ITEMS_WITH_LATEST = Prepared(_with_tick_ids, visit_id=-15, stage="-stage-")


def _required_with_state(visit: Visit, stage: str) -> list[ChecklistItem]:
    """The required items of `stage` in the visit's version (its first tick's, else the active
    one), each with `latest_ticked`: the state of the visit's latest row for it (True, False,
    None when never ticked). One query (issue 15: was the ticks, then the items)."""
    return _REQUIRED_WITH_STATE(visit_id=visit.pk, stage=str(stage))


def _items_with_latest(visit: Visit, stage: str) -> list[ChecklistItem]:
    """All items of `stage` in the visit's version with `latest_ticked`, `latest_tick_id` and
    their `template`: one query (issue 15)."""
    return _ITEMS_WITH_LATEST(visit_id=visit.pk, stage=str(stage))


def items_with_ticks(
    visit: Visit, stage: str, completion_round: int | None = None
) -> list[tuple[ChecklistItem, ChecklistTick | None]]:
    """The items of `stage` that apply to the visit's procedures, in order, each with the
    visit's latest row for it (ticked or withdrawn) or None, as `items_for` and `ticked_state`
    give them; in one query while nothing is ticked (issue 15: was three: the ticks, the active
    version, the items), two once something is. Each item's `current_round` is the round shown:
    the visit's current one, or the earlier `completion_round` of an after-completion form
    (one query more)."""
    kinds = _kinds(visit, stage)
    if not kinds:
        return []
    found = _items_with_latest(visit, stage)
    now = found[0].current_round if found else 0  # type: ignore[attr-defined]
    if _earlier_receipt(stage, completion_round, now):
        found = list(_with_tick_ids(visit.pk, str(stage), completion_round))
    items = [i for i in found if i.applies_to(kinds)]
    ids = [i.latest_tick_id for i in items if i.latest_tick_id is not None]  # type: ignore[attr-defined]
    ticks = ChecklistTick.objects.filter(pk__in=ids).select_related("staff") if ids else []
    by_item = {t.item_id: t for t in ticks}
    return [(i, by_item.get(i.pk)) for i in items]


def _earlier_receipt(stage: str, completion_round: int | None, now: int) -> bool:
    """Whether a form shown for `completion_round` is an earlier completion's receipt (its
    after-completion items), the visit having committed `now` completions since."""
    return (
        stage == Stage.AFTER_COMPLETION
        and completion_round is not None
        and 1 <= completion_round < now
    )


def _gaps(items: list[ChecklistItem], kinds: set[str]) -> list[ChecklistItem]:
    return [i for i in items if i.applies_to(kinds) and not i.latest_ticked]  # type: ignore[attr-defined]


def missing(visit: Visit, stage: str) -> list[ChecklistItem]:
    """Required items of `stage` not ticked (one query, and the procedures' kinds unless the
    desk read them in this request)."""
    kinds = _kinds(visit, stage)
    if not kinds:
        return []
    return _gaps(_required_with_state(visit, stage), kinds)


def pre_completion_check(visit: Visit) -> None:
    """The desk's pre-completion hook (`desk.procedures.PRE_COMPLETION_CHECKS`): fails closed
    when no checklist is active, else refuses unless the required items are ticked. One query
    when required items apply (then a checklist is there); else the version is read to tell
    whether there is a checklist at all."""
    kinds = _kinds(visit, Stage.BEFORE_COMPLETION)
    items = _required_with_state(visit, Stage.BEFORE_COMPLETION) if kinds else []
    if not items:
        template_id, state = _template_and_state(visit)
        if template_id is None:
            raise ChecklistMissing
        gaps = _missing(visit, Stage.BEFORE_COMPLETION, template_id, state)
    else:
        gaps = _gaps(items, kinds)
    if gaps:
        raise ChecklistIncomplete(gaps)


# The ends after which what is unticked stays unticked: staff ended the visit with the
# after-completion form (next resident), the next visit started over it, or staff signed out (or
# the sweeper closed the desk session for inactivity).
# After any other end (the resident took the card back right after the PIN, another card, a
# lapse) the desk may still tick the visit's after-completion items from the ended page, as it
# may still show its receipt: until the desk moves on (`settle_ended`).
SETTLED_AT_END = frozenset(
    {"next_resident", "superseded", "desk_session_closed", "desk_session_idle"}
)


def visit_end_check(visit: Visit) -> None:
    """The desk's visit-end hook (`desk.procedures.VISIT_END_HOOKS`): after-completion items
    still unticked when a visit with a committed completion ends become an incident, which the
    contractor's daily report lists; at the end itself when it settles them
    (`SETTLED_AT_END`), else when the desk moves on (`settle_ended`)."""
    if str(visit.end_reason) in SETTLED_AT_END:
        _record_unticked(visit)


def _latest_visit_locked_query(desk_session_id: int) -> QuerySet[Visit]:
    return (
        Visit.objects.select_for_update(of=("self",))
        # The terminal's contractor is the incident's organisation (`_record_unticked`).
        .select_related("terminal__contractor", "staff")
        .annotate(
            unticked_recorded=Exists(
                Incident.objects.filter(
                    visit_id=OuterRef("pk"), kind=IncidentKind.CHECKLIST_UNTICKED
                )
            )
        )
        .filter(desk_session_id=desk_session_id)
        .order_by("-started_at", "-pk")[:1]
    )


# Compiled once per process (issue 15, fifteenth round: built and compiled on every visit's
# start, four tables and a subquery, it was the start's largest item of Python CPU).
_LATEST_VISIT_LOCKED = Prepared(_latest_visit_locked_query, desk_session_id=-15)


def _latest_visit_locked(desk_session: Any) -> Visit | None:
    """The desk session's latest visit (as the receipt's `shown_at_desk` orders them), locked,
    with whether its incident of unticked items is recorded (`_settled`) in the same statement:
    a visit's start runs this (issue 15's statement budget)."""
    found = _LATEST_VISIT_LOCKED(desk_session_id=desk_session.pk)
    return found[0] if found else None


def _settled(visit: Visit) -> bool:
    """Whether the ended visit's after-completion items can no longer be ticked: its end
    settled them, or its incident of unticked items is recorded."""
    if str(visit.end_reason) in SETTLED_AT_END:
        return True
    recorded = getattr(visit, "unticked_recorded", None)
    if recorded is not None:
        return bool(recorded)
    return visit.incidents.filter(kind=IncidentKind.CHECKLIST_UNTICKED).exists()


def settle_ended(desk_session: Any) -> None:
    """The desk's hook for a desk session whose latest visit stops being its latest
    (`desk.procedures.DESK_MOVES_ON_HOOKS`: the next visit starts, the desk session closes, the
    sweeper after the staff sign-in's lifetime): the after-completion items that ended visit
    still has unticked become the incident its end left open. Once per visit."""
    latest = _latest_visit_locked(desk_session)
    if latest is None or latest.ended_at is None or _settled(latest):
        return
    _record_unticked(latest)


def ended_open_to_ticks(desk_session: Any) -> Visit | None:
    """The desk session's latest visit when it has ended and its after-completion items can
    still be ticked (from the ended page, until the desk moves on); else None."""
    latest = (
        Visit.objects.filter(desk_session_id=desk_session.pk).order_by("-started_at", "-pk").first()
    )
    if latest is None or latest.ended_at is None or _settled(latest):
        return None
    return latest


def tick_after_end(
    *,
    desk_session: Any,
    codes: set[str],
    staff: Any,
    expected_visit: str | None = None,
    shown: set[str] | None = None,
) -> list[ChecklistTick]:
    """Record the after-completion items of the desk session's visit that just ended (the
    resident took the card back right after the PIN): by the rule of its receipt, only while it
    is the desk session's latest visit (until the next visit starts) and its end has not settled
    them; appended and audited as any tick. Before-completion items are never ticked after.
    `expected_visit`: the ended visit the form was shown for; another is refused under the
    lock (`visit_changed`). `shown`: as `tick_many`'s."""
    with transaction.atomic():
        # The desk session first (a visit starting locks it too), then its latest visit.
        session = DeskSession.objects.select_for_update().filter(pk=desk_session.pk).first()
        latest = _latest_visit_locked(desk_session) if session is not None else None
        if session is None or session.closed_at is not None or latest is None:
            raise ChecklistRefused(
                "visit_not_shown",
                _("This desk has no visit that just ended; the tick was not recorded."),
            )
        if latest.ended_at is None:
            raise ChecklistRefused(
                "visit_open",
                _("The visit is still open: tick its items on the visit's pages."),
            )
        desk_services.refuse_unless_expected(latest, expected_visit)
        if _settled(latest):
            raise ChecklistRefused(
                "visit_settled",
                _(
                    "The visit's end already recorded its after-completion items as they "
                    "were; the tick was not recorded."
                ),
            )
        return _append_ticks(latest, Stage.AFTER_COMPLETION, codes, staff, shown=shown)


def unticked_by_completion(visit: Visit) -> tuple[int, dict[int, list[ChecklistItem]]]:
    """How many completions the visit committed, and the required after-completion items each
    left unticked, by its number (its completion round): the last completion's every item, an
    earlier one's those that are each completion's own (not `ONCE_PER_VISIT_ITEMS`: the card
    returned and the visit ended once, at its end). One query, and one more when the visit
    committed more than one completion."""
    kinds = _kinds(visit, Stage.AFTER_COMPLETION)
    if not kinds:
        return 0, {}
    items = _required_with_state(visit, Stage.AFTER_COMPLETION)
    if not items:
        return 0, {}
    now = int(items[0].current_round)  # type: ignore[attr-defined]
    gaps: dict[int, list[ChecklistItem]] = {}
    each = [i for i in items if i.applies_to(kinds) and i.code not in ONCE_PER_VISIT_ITEMS]
    if now > 1 and each:
        state: dict[tuple[int, int], bool] = {}
        rows = ChecklistTick.objects.filter(
            visit_id=visit.pk, item__in=each, completion_round__gte=1, completion_round__lt=now
        ).order_by("pk")
        for completion_round, item_id, ticked in rows.values_list(
            "completion_round", "item_id", "ticked"
        ):
            state[(completion_round, item_id)] = ticked
        for number in range(1, now):
            left = [i for i in each if not state.get((number, i.pk))]
            if left:
                gaps[number] = left
    last = _gaps(items, kinds)
    if last:
        gaps[now] = last
    return now, gaps


def _record_unticked(visit: Visit) -> None:
    """The incident of the visit's after-completion items still unticked, if any are, dated at
    the visit's end (when they were left): the report of the visit's day lists it, though the
    desk moved on (or the sweeper found it) after midnight. A visit of more than one completion
    names which completion left which (「1件目の確定: …」), an earlier one's own items too."""
    made, by_completion = unticked_by_completion(visit)
    if not by_completion:
        return
    gaps = list({i.pk: i for left in by_completion.values() for i in left}.values())
    several = made > 1
    if several:
        items_text = incident_text.by_language(
            ja="／".join(
                f"{n}件目の確定: " + "、".join(i.label_ja for i in left)
                for n, left in by_completion.items()
            ),
            en=" / ".join(
                f"completion {n}: " + "; ".join(i.label_en for i in left)
                for n, left in by_completion.items()
            ),
        )
    else:
        items_text = incident_text.by_language(
            ja="、".join(i.label_ja for i in gaps), en="; ".join(i.label_en for i in gaps)
        )
    end_reason = str(visit.end_reason)
    known = end_reason in VisitEndReason.values
    summary, text = incident_text.sentence(
        incident_text.CHECKLIST_UNTICKED,
        visit=visit.reference,
        reason=incident_text.end_reason(VisitEndReason(end_reason).label)
        if known
        else incident_text.by_language(ja=end_reason, en=end_reason),
        items=items_text,
    )
    incident_record(
        kind=IncidentKind.CHECKLIST_UNTICKED,
        reason_code="after_completion_unticked",
        severity=Severity.LOW,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            "items": [i.code for i in gaps],
            **(
                {
                    "completions": {
                        str(n): [i.code for i in left] for n, left in by_completion.items()
                    }
                }
                if several
                else {}
            ),
            "end_reason": end_reason,
            "text": text,
        },
        occurred_at=visit.ended_at,
    )


def tick(*, visit: Visit, item: ChecklistItem, staff: Any, ticked: bool = True) -> ChecklistTick:
    """Append a tick (or its withdrawal) for an item of the visit's checklist version."""
    with transaction.atomic():
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.ended_at is not None:
            raise ChecklistRefused(
                "visit_ended",
                _("The visit has ended; the tick was not recorded."),
            )
        template = template_for_visit(locked)
        if template is None or item.template_id != template.pk:
            raise ChecklistRefused(
                "checklist_item_unknown",
                _("The item is not in this visit's checklist version."),
            )
        row = ChecklistTick.objects.create(
            visit=locked,
            item=item,
            ticked=ticked,
            staff=staff,
            label_ja=item.label_ja,
            template_version=template.version,
            completion_round=current_round(locked),
        )
        _audit_tick(locked, row, staff)
    return row


def _audit_tick(visit: Visit, row: ChecklistTick, staff: Any) -> None:
    """The `checklists.ticked` event of one appended row (a tick or its withdrawal); the
    system's withdrawal (`row.reason`) is `checklists.summary_changed`, with no actor."""
    audit.record(
        CHECKLISTS_SUMMARY_CHANGED if row.reason else CHECKLISTS_TICKED,
        actor=None if row.reason else staff,
        terminal=visit.terminal,
        subject=visit,
        payload={
            "visit": visit.reference,
            "item": row.item.code,
            "label_ja": row.item.label_ja,
            "label_en": row.item.label_en,
            "state": "ticked" if row.ticked else "withdrawn",
            "version": row.template_version,
            "round": row.completion_round,
            **({"reason": row.reason} if row.reason else {}),
        },
    )


# The visit locked for a tick, compiled once per process (issue 15).
_VISIT_LOCKED = Prepared(
    lambda visit_id: (
        Visit.objects.select_for_update(of=("self",)).select_related("terminal").filter(pk=visit_id)
    ),
    visit_id=-15,
)


def tick_many(
    *,
    visit: Visit,
    stage: str,
    codes: set[str],
    staff: Any,
    shown: set[str] | None = None,
    completion_round: int | None = None,
    summary: str | None = None,
) -> list[ChecklistTick]:
    """Record the form's state for one stage: append rows only for items whose state changes.

    `shown`: the items the form showed ticked; only the items whose box changed from that
    (ticked in `codes` and not shown ticked, or shown ticked and not in `codes`) are changed, so
    a second tab showing an older state withdraws nothing it did not touch. None: `codes` is the
    whole state (a caller that read the current state itself).
    `completion_round` and `summary`: the completion round the form showed (its rows' `round`)
    and, before completion, the summary it showed (`desk.procedures.summary_stamp`), compared
    under the visit's lock. A before-completion form of another summary or round is refused
    (`ChecklistStale`): a tab left on an earlier summary confirms nothing it did not show. An
    after-completion form of an earlier completion (its receipt left open in a tab) ticks that
    completion's items, never the later one's; of a round the visit does not have, refused.
    None: not compared (a caller that read the visit itself).
    One transaction for the whole form (one lock of the visit, one audit append at commit),
    with one ``checklists.ticked`` event per changed item.
    """
    with transaction.atomic():
        found = _VISIT_LOCKED(visit_id=visit.pk)
        if not found:
            raise Visit.DoesNotExist("Visit matching query does not exist.")
        return _append_ticks(
            found[0],
            stage,
            codes,
            staff,
            shown=shown,
            open_only=True,
            completion_round=completion_round,
            summary=summary,
        )


def _append_ticks(
    locked: Visit,
    stage: str,
    codes: set[str],
    staff: Any,
    *,
    shown: set[str] | None = None,
    open_only: bool = False,
    completion_round: int | None = None,
    summary: str | None = None,
) -> list[ChecklistTick]:
    """`tick_many`'s rows for the visit locked by the caller; `open_only`: refused once the
    visit has ended (`tick_after_end` checks its own rule instead)."""
    # An ended visit's form is refused as ended (below), whatever it showed.
    compare = not (open_only and locked.ended_at is not None)
    if compare and summary is not None and stage == Stage.BEFORE_COMPLETION:
        # The pending procedures' ids with their kinds: the same one query as the kinds alone.
        pending = _PENDING_IDS_AND_KINDS.rows(visit_id=locked.pk)
        if summary != desk_procedures.summary_stamp(locked, (pk for pk, _kind in pending)):
            raise ChecklistStale.of_stage(stage)
        kinds = {kind for _pk, kind in pending}
    else:
        kinds = _kinds(locked, stage)
    if not kinds:
        return []
    # The version's items with the visit's latest state of each in its current completion
    # round, and that round, in one query (issue 15: was the ticks, the active version, the
    # items).
    items = _items_with_latest(locked, stage)
    if not items:  # no checklist version
        return []
    now = items[0].current_round  # type: ignore[attr-defined]
    if compare and completion_round is not None and completion_round != now:
        if not _earlier_receipt(stage, completion_round, now):
            raise ChecklistStale.of_stage(stage)
        # An earlier completion's receipt: its own items, in its own round (one query more).
        items = list(_with_tick_ids(locked.pk, str(stage), completion_round))
    template = items[0].template
    rows = []
    for item in items:
        if not item.applies_to(kinds):
            continue
        want = item.code in codes
        if shown is not None and want == (item.code in shown):
            continue  # a box the form did not change: whatever another tab did stands
        have = bool(item.latest_ticked)  # type: ignore[attr-defined]
        if want != have:
            rows.append(
                ChecklistTick(
                    visit=locked,
                    item=item,
                    ticked=want,
                    staff=staff,
                    label_ja=item.label_ja,
                    template_version=template.version,
                    completion_round=item.current_round,  # type: ignore[attr-defined]
                )
            )
    if rows and open_only and locked.ended_at is not None:
        raise ChecklistRefused(
            "visit_ended",
            _("The visit has ended; the tick was not recorded."),
        )
    insert_many(rows)  # SQL written once per row count (issue 15)
    for row in rows:
        _audit_tick(locked, row, staff)
    return rows


def summary_changed(visit: Visit) -> list[ChecklistTick]:
    """The desk's hook for a procedure prepared or discarded in the open visit (locked by the
    caller; `desk.procedures.SUMMARY_CHANGE_HOOKS`): the summary the card will sign is no longer
    the one the resident confirmed, so the ticks of `SUMMARY_ITEMS` in the current round are
    withdrawn, by the system (no staff member: `reason`, the audit's
    `checklists.summary_changed`), to be ticked again for the summary now shown. One query
    when nothing of them is ticked (issue 15: a prepare's statements)."""
    items = [
        i
        for i in _items_with_latest(visit, Stage.BEFORE_COMPLETION)
        if i.code in SUMMARY_ITEMS and i.latest_ticked  # type: ignore[attr-defined]
    ]
    rows = [
        ChecklistTick(
            visit=visit,
            item=item,
            ticked=False,
            staff=None,
            reason=Withdrawal.SUMMARY_CHANGED,
            label_ja=item.label_ja,
            template_version=item.template.version,
            completion_round=item.current_round,  # type: ignore[attr-defined]
        )
        for item in items
    ]
    insert_many(rows)
    for row in rows:
        _audit_tick(visit, row, None)
    return rows
