from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class IncidentKind(models.TextChoices):
    COMPLETION_REFUSED = "completion_refused", _("Completion refused")
    VISIT_START_REFUSED = "visit_start_refused", _("Visit start refused")
    VISIT_ENDED_WITH_PENDING = "visit_ended_with_pending", _("Visit ended with a procedure pending")
    CARD_SWAPPED = "card_swapped", _("Another card during a visit")
    PIN_LOCKED = "pin_locked", _("PIN locked")
    NAME_CHECK = "name_check", _("Name check")
    OUTSIDE_FAILURE = "outside_failure", _("Outside system failure")
    COMPLAINT = "complaint", _("Complaint")
    EXCEPTION_USED = "exception_used", _("Name check exception used")
    NAME_CLOSE_CONFIRMED = "name_close_confirmed", _("Close or unreported name confirmed")
    CHECKLIST_UNTICKED = "checklist_unticked", _("Checklist items left unticked")
    # The outside system answered and said no (no such account, a wrong security code, a
    # suspended account, an insurer's refusal): apart from OUTSIDE_FAILURE, where it could not
    # be reached or did not answer as it should, so a day's report does not count a resident's
    # closed account as an outage.
    OUTSIDE_REFUSED = "outside_refused", _("Refused by an outside system")


class Source(models.TextChoices):
    AUTOMATIC = "automatic", _("Recorded automatically")
    MANUAL = "manual", _("Entered by staff")
