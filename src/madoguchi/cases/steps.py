"""The case page's step forms: which steps the transition table allows now, and their titles.

`allowed(status)` asks the same table `services.case_transition` enforces
(`constants.ALLOWED_TRANSITIONS`, `ENTRY_TARGETS`, `STAGE_OPENERS`, through
`services.step_allowed`), so a form is offered exactly when recording it would be accepted.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .constants import CaseStatus, EntryKind

# step name (URL) -> the timeline entry kind it appends
KINDS: dict[str, EntryKind] = {
    "investigate": EntryKind.INVESTIGATION,
    "compare": EntryKind.COMPARISON,
    "note": EntryKind.NOTE,
    "suspend": EntryKind.SUSPENSION,
    "contact": EntryKind.CONTACT,
    "return_points": EntryKind.POINT_RETURN,
    "reenable": EntryKind.REENABLE,
    "notify": EntryKind.NOTIFICATION,
    "close": EntryKind.CLOSE,
}

TITLES: dict[str, Promise] = {
    "investigate": _("Start the investigation"),
    "compare": _("Compare the payment card number the resident presents"),
    "note": _("Add a note"),
    "suspend": _("Suspend the link"),
    "contact": _("Record a contact"),
    "return_points": _("Return the points from the wrong account"),
    "reenable": _("Re-enable the resident's application"),
    "notify": _("Notify the resident"),
    "close": _("Close the case"),
}
# A legacy link's points were never in madoguchi's ledger: the return records what the
# provider did.
LEGACY_RETURN_TITLE = _("Record the provider's return of the points (legacy link)")

# The old terminal's session records (LegacyLink.session_log) in words.
SESSION_EVENTS: dict[str, Promise] = {
    "login": _("staff signed in"),
    "card_read": _("card read"),
    "card_removed": _("card removed"),
    "committed": _("application committed"),
    "logout": _("staff signed out"),
}


def allowed(status: CaseStatus | str) -> list[str]:
    """The step names that may be recorded now, in the table's order."""
    from .services import step_allowed

    current = CaseStatus(status)
    return [name for name, kind in KINDS.items() if step_allowed(kind, current)]


def session_event(code: str) -> str:
    label = SESSION_EVENTS.get(code)
    return str(label) if label is not None else code
