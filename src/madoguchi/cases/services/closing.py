"""The steps that only record: contacting a party, notifying, closing, and notes."""

from __future__ import annotations

from typing import Any

from madoguchi.accounts.models import User

from ..constants import Channel, CloseOutcome, EntryKind, Party
from ..models import Case, TimelineEntry
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
    return case_transition(
        case, actor=actor, kind=EntryKind.CLOSE, summary=summary, detail=detail, **when
    )


def case_note(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.NOTE, summary=summary, **when)
