"""The registry of procedures a visit can prepare and a signed completion can commit.

A procedure handler says how its fields are cleaned, what of it goes into the signed
transaction (every field that will be written, in the form that will be written), what the
resident is shown, and what it writes when the completion is accepted. Benefits register the
real procedures; `TestProcedure` exercises the mechanism in tests and the incident scenario.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from madoguchi.language import english
from madoguchi.refusals import Refusal, Text

if TYPE_CHECKING:
    from .models import Completion, Procedure, Visit


class ProcedureInvalid(Refusal):
    """The fields of a procedure are not acceptable; `field` names the one at fault, if any.

    `code` is a stable reason (e.g. "procedure_invalid", "name_no_match", "provider_timeout").
    """

    code = "procedure_invalid"
    message: Text = _("The procedure's fields are not valid.")
    status = 400

    def __init__(
        self,
        code: str | None = None,
        message: Text | None = None,
        *,
        field: str = "",
        params: Mapping[str, object] | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(code, message, params=params, detail=detail)
        self.field = field


class ProcedureHandler(Protocol):
    kind: ClassVar[str]
    label_ja: ClassVar[str]
    label_en: ClassVar[str]

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the staff's input; what is returned is stored and signed.

        May call outside systems (it runs outside the visit's lock). Raise ProcedureInvalid
        (a translatable message, the field at fault).
        """

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        """What of this procedure the card signs: everything that will be written."""

    def display_lines(self, procedure: Procedure) -> list[str]:
        """Lines the resident reads on the confirmation page and the PIN pad (Japanese)."""

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        """Write the domain rows. Runs inside the completion's transaction."""

    def receipt_url(self, completion: Completion) -> str | None:
        """Where the resident's receipt of a completion that included this procedure is, if
        the app that provides the procedure makes one; else None."""


# A handler may also define ``one_per_visit(fields) -> str``: what the procedure registers once
# per resident (a health-insurance registration, a programme's link), as a key of its cleaned
# fields; a second pending procedure of the kind with the same key in the visit is refused at
# prepare (`already_pending`). Two such procedures were both taken, and the completion failed
# only after the resident's PIN: a server error, or "registered at another desk first".

# A handler may also define ``recheck(procedure) -> None``: called inside a completion whose
# signed transaction no longer matches what is pending (another desk committed something that
# changes it), it raises the refusal that says why (e.g. ``account_already_linked``), so the desk
# hears the reason rather than ``transaction_changed``. Reads only; takes no row locks.


_REGISTRY: dict[str, ProcedureHandler] = {}

# Checks every completion must pass, called by both the completion challenge and the commit with
# the locked open visit; each raises a Refusal to refuse (e.g. the checklists app's
# required items). Apps append to it in their AppConfig.ready().
PRE_COMPLETION_CHECKS: list[Callable[[Visit], None]] = []

# Called by `services.end_locked` for every visit that ends (however it ends), inside the ending
# transaction, after the visit row is locked and its end recorded: apps record what the end
# leaves behind (e.g. the checklists app's after-completion items left unticked). Receivers get
# the visit (ended_at and end_reason set) and must not lock rows (the audit head is held).
VISIT_END_HOOKS: list[Callable[[Visit], None]] = []

# Called by `services.procedure_prepare` and `services.procedure_discard` with the open visit
# (locked), inside their transaction, after the procedure is stored or discarded: the summary
# the card will sign changed, and what confirmed the old one no longer stands (e.g. the
# checklists app withdraws "the resident confirmed the summary", `checklists.services.
# summary_changed`). Receivers must not lock rows.
SUMMARY_CHANGE_HOOKS: list[Callable[[Visit], Any]] = []


def summary_stamp(visit: Visit, procedure_ids: Iterable[int]) -> str:
    """What names the summary a confirmation page shows: the visit's pending procedures (a
    pending procedure is never edited, only prepared or discarded) and its second card. The
    page's checklist form carries it, and a tick of a form whose summary is no longer the
    visit's is refused (`checklists.services.tick_many`): a tab left on an earlier summary
    confirms nothing it did not show."""
    ids = ",".join(str(i) for i in sorted(procedure_ids))
    shown = f"{visit.pk}|{visit.companion_certificate_id or ''}|{ids}"
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


# Called with a desk session (locked) whose latest visit stops being its latest: the next visit
# starts (`services.visit_start`), the desk session closes (`receivers`), or the sweeper finds
# it ended longer ago than a staff sign-in lasts. Until then the desk may still show the ended
# visit's receipt and tick its after-completion items; apps record what stays undone (e.g. the
# checklists app's items left unticked, `checklists.services.settle_ended`).
DESK_MOVES_ON_HOOKS: list[Callable[[Any], None]] = []

# Called by `services.visit_handover_start` with the open visit (locked) before a handover starts:
# an app refuses (raises a Refusal) a handover whose second card could serve nothing in this
# visit, so that no one places a card or enters a PIN for nothing (e.g. the benefits app: a
# legal representative for a resident the card shows to be an adult).
HANDOVER_CHECKS: list[Callable[[Visit], None]] = []

# The second card of a visit as the visit page names it (e.g. the benefits app's "法定代理人
# （親権者）"): called only for a visit with a second card; the first non-empty answer is shown.
SECOND_CARD_LABELS: list[Callable[[Visit], str]] = []
# The roles a second card's holder may have (value, Japanese label, English label), offered on
# the visit page before the handover (the benefits app's relationships of a legal representative).
SECOND_CARD_ROLES: list[tuple[str, str, str]] = []


def second_card_label(visit: Visit) -> str:
    for label in SECOND_CARD_LABELS:
        text = label(visit)
        if text:
            return text
    return ""


class VisitChecklist(Protocol):
    """What the desk's pages need of the staff checklist (the checklists app provides it)."""

    def rows(self, visit: Visit, stage: str, completion_round: int | None = None) -> list[Any]:
        """The items of one stage (`desk.constants.CHECKLIST_STAGES`) and their ticks, in the
        visit's current completion round or (after completion) `completion_round`; each row's
        `round` is the one shown, which the form sends back."""

    def tick_many(
        self,
        *,
        visit: Visit,
        stage: str,
        codes: set[str],
        staff: Any,
        shown: set[str] | None = None,
        completion_round: int | None = None,
        summary: str | None = None,
    ) -> Any:
        """Record the form's state for one stage: the boxes ticked (`codes`) where they differ
        from what the form showed ticked (`shown`; None: `codes` is the whole state); raises a
        Refusal if the visit has ended. `completion_round` and `summary`: the round and the
        summary (`summary_stamp`) the form was shown for; a form shown for another is refused
        as stale (`checklist_stale`), except that an after-completion form of an earlier
        completion ticks that completion's items (None: not compared)."""

    def ended_open_to_ticks(self, desk_session: Any) -> Visit | None:
        """The desk session's visit that just ended, while its after-completion items may
        still be ticked (until the desk moves on); else None."""

    def tick_after_end(
        self,
        *,
        desk_session: Any,
        codes: set[str],
        staff: Any,
        expected_visit: str | None = None,
        shown: set[str] | None = None,
    ) -> Any:
        """Record the after-completion form of the desk session's visit that just ended;
        raises a Refusal when that is no longer allowed, `visit_changed` when that visit is
        not `expected_visit` (the one the form was shown for), compared under its lock;
        `shown` as `tick_many`'s."""


class NoChecklist:
    """No checklist app installed: no items, nothing to record."""

    def rows(self, visit: Visit, stage: str, completion_round: int | None = None) -> list[Any]:
        return []

    def tick_many(
        self,
        *,
        visit: Visit,
        stage: str,
        codes: set[str],
        staff: Any,
        shown: set[str] | None = None,
        completion_round: int | None = None,
        summary: str | None = None,
    ) -> Any:
        return []

    def ended_open_to_ticks(self, desk_session: Any) -> Visit | None:
        return None

    def tick_after_end(
        self,
        *,
        desk_session: Any,
        codes: set[str],
        staff: Any,
        expected_visit: str | None = None,
        shown: set[str] | None = None,
    ) -> Any:
        return []


# The checklist the desk's pages show; the checklists app installs its own in AppConfig.ready().
_CHECKLIST: list[VisitChecklist] = [NoChecklist()]


def checklist() -> VisitChecklist:
    return _CHECKLIST[-1]


def checklist_install(provider: VisitChecklist) -> None:
    _CHECKLIST[1:] = [provider]


def register(handler: ProcedureHandler) -> ProcedureHandler:
    if handler.kind in _REGISTRY:
        raise ValueError(f"procedure {handler.kind!r} is already registered")
    _REGISTRY[handler.kind] = handler
    return handler


def get(kind: str) -> ProcedureHandler | None:
    handler = _REGISTRY.get(kind)
    if handler is None:
        return None
    if getattr(handler, "test_only", False) and not settings.DESK_TEST_PROCEDURE:
        return None
    return handler


def label(kind: str, lang: str | None = None) -> str:
    """The procedure's name for people in `lang` (default: the active language); the kind
    itself when no handler of that kind is registered."""
    handler = _REGISTRY.get(kind)
    if handler is None:
        return kind
    return handler.label_en if english(lang or None) else handler.label_ja


def receipt_url(completion: Completion) -> str | None:
    """The receipt of a completion: the first its procedures' handlers provide, if any."""
    for procedure in completion.procedures.order_by("pk"):
        handler = get(procedure.kind)
        url = handler.receipt_url(completion) if handler is not None else None
        if url:
            return url
    return None


def status_lines(completion: Completion, lang: str = "ja") -> list[str]:
    """Lines on where a completion's procedures stand after the commit, in ``lang`` (ja, en),
    from the handlers that have something to say (`status_lines(completion, lang)`, optional:
    e.g. a registration that waits for an outside system's answer)."""
    lines: list[str] = []
    kinds = dict.fromkeys(completion.procedures.order_by("pk").values_list("kind", flat=True))
    for kind in kinds:
        handler = get(kind)
        hook = getattr(handler, "status_lines", None)
        if hook is not None:
            lines.extend(hook(completion, lang))
    return lines


def available() -> list[ProcedureHandler]:
    """The procedures staff can add, the resident's real ones first and the stand-in last: the
    demo desk (which enables the stand-in for its incident scenario) listed 「テスト用の紐付け」
    above the point application, the first button a new user met (a walk of the demo)."""
    handlers = [h for k, h in _REGISTRY.items() if get(k) is not None]
    return sorted(handlers, key=lambda h: bool(getattr(h, "test_only", False)))


class TestProcedure:
    """A stand-in procedure: links a (fictional) payment account reference. Enabled only with
    DESK_TEST_PROCEDURE (tests, the demo's incident scenario)."""

    kind: ClassVar[str] = "test_link"
    label_ja: ClassVar[str] = "テスト用の紐付け"
    label_en: ClassVar[str] = "Test link"
    test_only: ClassVar[bool] = True

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        account = str(fields.get("account", "")).strip()
        points = fields.get("points", 0)
        if not account:
            raise ProcedureInvalid(message=_("Enter the account reference."), field="account")
        if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 20000:
            raise ProcedureInvalid(
                message=_("Points are a whole number from 0 to 20000."), field="points"
            )
        return {"account": account, "points": points}

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        return {"account": procedure.fields["account"], "points": procedure.fields["points"]}

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        return [f"テスト用の紐付け: 口座 {f['account']} に {f['points']} ポイント"]

    def receipt_url(self, completion: Completion) -> str | None:
        return None

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        # The mechanism's own rows (Completion, procedure status) are the record of this one.
        return None


register(TestProcedure())
