"""The visit lifecycle and signed completion.

Rules this module enforces (docs/visits.md):
- a visit starts only from a valid card authentication and is bound to that certificate;
- at most one open visit per terminal; an ended visit is never resumed;
- a visit ends on card removal, another card (during an explicit card handover: a card other
  than the resident's and the legal representative's own), lost presence, "next resident", inactivity,
  its absolute limit, a refused completion, or the staff member signing out;
- a completion writes only if the card that signs is the visit's card, the signed bytes are
  exactly what is being written, the nonce is fresh and unused, and the visit is still open;
  otherwise nothing is written, the visit ends and an incident says why.
"""

from .cards import (
    CardsRefused,
    is_minor_on,
    support_trust,
    visit_basic_four,
    visit_companion_set,
    visit_handover_start,
)
from .completion import (
    CompletionChallenge,
    build_transaction,
    completion_challenge,
    completion_commit,
)
from .visits import (
    FIELD_MESSAGE,
    FieldsRefused,
    VisitRefused,
    agent_event,
    auth_challenge,
    card_reported,
    end_locked,
    lapse,
    presence_by_credential,
    procedure_discard,
    procedure_prepare,
    refuse_unless_expected,
    removal_by_credential,
    seconds_left,
    visit_current,
    visit_end,
    visit_start,
)

__all__ = [
    "FIELD_MESSAGE",
    "CardsRefused",
    "CompletionChallenge",
    "FieldsRefused",
    "VisitRefused",
    "agent_event",
    "auth_challenge",
    "build_transaction",
    "card_reported",
    "completion_challenge",
    "completion_commit",
    "end_locked",
    "is_minor_on",
    "lapse",
    "presence_by_credential",
    "procedure_discard",
    "procedure_prepare",
    "refuse_unless_expected",
    "removal_by_credential",
    "seconds_left",
    "support_trust",
    "visit_basic_four",
    "visit_companion_set",
    "visit_current",
    "visit_end",
    "visit_handover_start",
    "visit_start",
]
