from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The two moments of a visit at which the desk's pages show the staff checklist (the checklists
# app's `Stage` has these values; the desk reaches it through `procedures.checklist()`).
CHECKLIST_BEFORE_COMPLETION = "before_completion"
CHECKLIST_AFTER_COMPLETION = "after_completion"
CHECKLIST_STAGES = (CHECKLIST_BEFORE_COMPLETION, CHECKLIST_AFTER_COMPLETION)


class VisitEndReason(models.TextChoices):
    CARD_REMOVED = "card_removed", _("The card was removed")
    CARD_SWAPPED = "card_swapped", _("Another card was placed on the reader")
    PRESENCE_LOST = "presence_lost", _("The card reader stopped confirming the card")
    NEXT_RESIDENT = "next_resident", _("Next resident")
    INACTIVITY = "inactivity", _("No activity")
    ABSOLUTE_LIMIT = "absolute_limit", _("Time limit reached")
    COMPLETION_REFUSED = "completion_refused", _("Completion refused")
    DESK_SESSION_CLOSED = "desk_session_closed", _("Staff signed out")
    # The sweeper closed the desk session: its browser made no request for STAFF_IDLE_SECONDS.
    DESK_SESSION_IDLE = "desk_session_idle", _("The staff sign-in was closed for inactivity")
    SUPERSEDED = "superseded", _("A new card authentication on the terminal")


class ProcedureStatus(models.TextChoices):
    # Prepared, waiting for the resident's card (the shared catalogue's "Pending" is an outbox
    # call waiting to be sent, and would win over this app's own).
    PENDING = "pending", pgettext_lazy("procedure status", "Pending")
    COMMITTED = "committed", _("Committed")
    DISCARDED = "discarded", _("Discarded")


class AgentEventKind(models.TextChoices):
    INSERTED = "inserted", _("Card inserted")
    REMOVED = "removed", _("Card removed")
    PRESENCE = "presence", _("Card present")


TRANSACTION_VERSION = 1
