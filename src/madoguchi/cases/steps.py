"""The case page's step forms: which steps the transition table allows now, and their titles.

`allowed(status, programme)` asks the same table `services.case_transition` enforces
(`constants.ALLOWED_TRANSITIONS`, `ENTRY_TARGETS`, `STAGE_OPENERS`, through
`services.step_allowed`), so a form is offered exactly when recording it would be accepted.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .constants import CaseStatus, EntryKind, Programme
from .services import step_allowed

# step name (URL) -> the timeline entry kind it appends
KINDS: dict[str, EntryKind] = {
    "investigate": EntryKind.INVESTIGATION,
    "compare": EntryKind.COMPARISON,
    "note": EntryKind.NOTE,
    "suspend": EntryKind.SUSPENSION,
    "contact": EntryKind.CONTACT,
    "return_points": EntryKind.POINT_RETURN,
    "correct": EntryKind.CORRECTION,
    "reenable": EntryKind.REENABLE,
    "regrant": EntryKind.REGRANT,
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
    "correct": _("Record the correction of the wrong registration"),
    "reenable": _("Re-enable the resident's application"),
    "regrant": _("Grant the returned points again to the resident"),
    "notify": _("Notify the resident"),
    "close": _("Close the case"),
}
# What a step asks on a public-fund or insurance case (a point programme's case: TITLES).
PROGRAMME_TITLES: dict[Programme, dict[str, Promise]] = {
    Programme.PUBLIC_FUND: {
        "compare": _("Compare the bank account the resident presents"),
        "correct": _(
            "Record the correction of the public-fund account (the wrong account's "
            "registration cancelled)"
        ),
        "reenable": _("Re-enable the resident's public-fund account registration"),
    },
    Programme.HEALTH_INSURANCE: {
        "compare": _("Compare the insurance details the resident presents"),
        # The registration is the insurer's record: the step asks the insurer to cancel it
        # (through the outbox), and the case page shows the insurer's answer.
        "suspend": _("Ask the insurer to suspend the wrong registration"),
        "correct": _(
            "Record the correction of the health-insurance registration (the insurer "
            "cancelled the wrong registration)"
        ),
        "reenable": _("Re-enable the resident's health-insurance use registration"),
    },
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


def allowed(status: CaseStatus | str, programme: Programme | str = Programme.POINTS) -> list[str]:
    """The step names a case of `programme` may record now, in the table's order."""
    current = CaseStatus(status)
    return [name for name, kind in KINDS.items() if step_allowed(kind, current, programme)]


def title(name: str, programme: Programme | str, *, legacy: bool = False) -> Promise:
    """The step's title on a case of `programme` (a legacy link's return: what the provider
    did)."""
    if name == "return_points" and legacy:
        return LEGACY_RETURN_TITLE
    return PROGRAMME_TITLES.get(Programme(programme), {}).get(name, TITLES[name])


def session_event(code: str) -> str:
    label = SESSION_EVENTS.get(code)
    return str(label) if label is not None else code
