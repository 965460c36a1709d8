"""Visits: the refusal, lapse rules, starting and ending, agent reports, procedures.

One module per part of the lifecycle: `refusals`, `limits` (the lapse rules), `current` (the open
visit, read or locked), `start`, `end`, `card_reports` (the agent's insertion, removal and
presence reports) and `procedures`. Every function that writes takes the visit's row lock in the
one order (docs/audit.md): the visit row first, the audit log's head last. Callers import from
here (or from `desk.services`)."""

from .card_reports import agent_event, card_reported, presence_by_credential, removal_by_credential
from .current import visit_current
from .end import end_locked, visit_end
from .limits import lapse, seconds_left
from .procedures import procedure_discard, procedure_prepare, unknown_procedure
from .refusals import FIELD_MESSAGE, FieldsRefused, VisitRefused, refuse_unless_expected
from .start import auth_challenge, visit_start

__all__ = [
    "FIELD_MESSAGE",
    "FieldsRefused",
    "VisitRefused",
    "agent_event",
    "auth_challenge",
    "card_reported",
    "end_locked",
    "lapse",
    "presence_by_credential",
    "procedure_discard",
    "procedure_prepare",
    "refuse_unless_expected",
    "removal_by_credential",
    "seconds_left",
    "unknown_procedure",
    "visit_current",
    "visit_end",
    "visit_start",
]
