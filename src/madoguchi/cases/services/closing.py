"""The steps that only record: contacting a party, notifying, closing, and notes."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User

from .. import selectors
from ..constants import CaseStatus, Channel, CloseOutcome, EntryKind, Party
from ..models import Case, TimelineEntry
from .access import CaseRefused
from .remediation import link_words
from .transitions import case_transition


def case_contact(
    case: Case,
    *,
    actor: User,
    party: Party | str,
    channel: Channel | str,
    summary: str,
    party_label: str = "",
    **when: Any,
) -> TimelineEntry:
    return case_transition(
        case,
        actor=actor,
        kind=EntryKind.CONTACT,
        summary=summary,
        party=party,
        party_label=party_label,
        channel=channel,
        **when,
    )


def case_notify(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.NOTIFICATION, summary=summary, **when)


def case_close(
    case: Case, *, actor: User, summary: str, outcome: CloseOutcome | str = "", **when: Any
) -> TimelineEntry:
    """Close the case. ``outcome``: what was found (`CloseOutcome`), which the resident's closing
    letter says; kept in the entry's detail ("" when not stated, as a closing before it was
    asked)."""
    detail = {"outcome": CloseOutcome(outcome).value} if outcome else None

    def fits(current: CaseStatus) -> None:
        # The outcome the resident's letter and the city's report state must be the path the
        # case took: "put right" only after the repair (closed once the resident was
        # notified, or a later case that granted the returned points again while
        # investigating: the repair it made), "no error" only before anything was suspended. A
        # case closed at intake as put right made the report apologise for a correction never
        # made.
        repaired = current == CaseStatus.NOTIFIED or (
            current == CaseStatus.INVESTIGATION
            and case.timeline.filter(kind=EntryKind.REGRANT).exists()
        )
        if outcome == CloseOutcome.CORRECTED and not repaired:
            raise CaseRefused(
                "outcome_not_reached",
                _(
                    'The case cannot be closed as "an error was found and put right": no '
                    "repair is recorded (the link suspended, put right, re-enabled and the "
                    'resident notified). Close it as "no error was found" or "other", or '
                    "record the repair first."
                ),
            )
        if outcome == CloseOutcome.CORRECTED:
            _refuse_while_regrant_waits(case)
        if outcome == CloseOutcome.NO_ERROR and repaired:
            raise CaseRefused(
                "outcome_not_reached",
                _(
                    'The case cannot be closed as "no error was found": a repair is recorded '
                    'on it. Close it as "an error was found and put right" or "other".'
                ),
            )

    return case_transition(
        case, actor=actor, kind=EntryKind.CLOSE, summary=summary, detail=detail, fits=fits, **when
    )


_REGRANT_WAITS = _(
    'The case cannot be closed as "an error was found and put right": the %(points)s points '
    "returned from the wrong link have not been granted again to the resident, who has linked "
    "their own payment service (%(link)s). Record “Grant the returned points again to the "
    "resident” first, then close the case."
)


def _refuse_while_regrant_waits(case: Case) -> None:
    """A point case is not put right while the points returned from its wrong link wait for
    their re-grant and the resident holds a link of their own to receive them (under the case's
    lock, as the re-grant step reads them): closed so, the resident's letter and the city's
    report said the error was put right with the points returned to funding for good."""
    state = selectors.regrant_state(case)
    if state is None or not state.waiting or state.target is None:
        return
    raise CaseRefused(
        "regrant_pending",
        _REGRANT_WAITS,
        params={"points": state.points, "link": link_words(state.target)},
    )


def case_note(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.NOTE, summary=summary, **when)
