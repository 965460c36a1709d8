"""Case statuses, timeline entry kinds, and the one transition table (enforced only by
services.case_transition)."""

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi.era import ERAS

# The earliest day a case records: the first day the era dates write (明治6年1月1日, when Japan
# adopted the Gregorian calendar; `era.ERAS`). A day before it (1026-12-01, a slip of the keys
# for 2026-12-01) was recorded, and every page, report and letter dating it failed for good.
EARLIEST_DAY = ERAS[-1][0]
# A day before it, refused beside the day field and by the services, as a day after today is.
BEFORE_EARLIEST = _(
    "The date is before 1873-01-01 (明治6年1月1日), the earliest day a case records. Check the "
    "year."
)


def too_early(day: date | None) -> bool:
    """Whether `day` is before `EARLIEST_DAY` (the day fields and the services alike)."""
    return day is not None and day < EARLIEST_DAY


class CaseStatus(models.TextChoices):
    INTAKE = "intake", _("Intake")
    INVESTIGATION = "investigation", _("Investigation")
    SUSPENDED = "suspended", _("Link suspended")
    CONTACTING = "contacting", _("Contacting the parties")
    POINTS_RETURNED = "points_returned", _("Points returned")
    # A public-fund or insurance case has no points: the wrong registration is corrected.
    CORRECTED = "corrected", _("Wrong registration corrected")
    REENABLED = "reenabled", _("Application re-enabled")
    NOTIFIED = "notified", _("Resident notified")
    CLOSED = "closed", _("Closed")


class Programme(models.TextChoices):
    """What the mis-link was made for: the incident report's wording follows it."""

    POINTS = "points", _("Point programme (payment service)")
    PUBLIC_FUND = "public_fund", _("Public-fund receiving account")
    HEALTH_INSURANCE = "health_insurance", _("Health-insurance use registration")


# The key of a timeline entry's detail naming the public-fund account or insurance registration
# it concerns (a suspension step's, the one it acted on; an intake's, the one a resident
# reported), by programme.
REGISTRATION_KEY = {
    Programme.PUBLIC_FUND: "public_fund_account",
    Programme.HEALTH_INSURANCE: "health_insurance_registration",
}


class EntryKind(models.TextChoices):
    INTAKE = "intake", _("Intake")
    INVESTIGATION = "investigation", _("Investigation started")
    # What is compared follows the case's programme (a payment card, a bank account, the
    # insurance details): the label names none of them.
    COMPARISON = "comparison", _("Compared with what the resident presents")
    NOTE = "note", _("Note")
    SUSPENSION = "suspension", _("Link suspended")
    CONTACT = "contact", _("Contact")
    POINT_RETURN = "point_return", _("Points returned from the wrong account")
    CORRECTION = "correction", _("Wrong registration corrected")
    REENABLE = "reenable", _("Application re-enabled")
    # The points returned from the wrong link granted again to the resident's own new link
    # (a point case, once re-enabled and the resident linked their own payment service).
    REGRANT = "regrant", _("Returned points granted again")
    NOTIFICATION = "notification", _("Resident notified")
    CLOSE = "close", _("Closed")


class CloseOutcome(models.TextChoices):
    """What closing a case found, as the closing letter tells the resident: an apology only
    where something was wrong. Chosen by the official on the close step."""

    CORRECTED = "corrected", _("An error was found and put right")
    NO_ERROR = "no_error", _("No error was found")
    OTHER = "other", _("Other (the city explains it to the resident)")


class DatePrecision(models.TextChoices):
    DAY = "day", _("Day")
    MONTH = "month", _("Month only (day unknown)")
    UNKNOWN = "unknown", _("Date unknown")


class HolderKanaMissing(models.TextChoices):
    """Why a legacy link does not know the account holder's name (blank: a link recorded from
    the old system's records, which keep none)."""

    NOT_REPORTED = "not_reported", _("The records gave no account holder's name")
    NOT_CARRIED = "not_carried", _("Opened from the scan before cases kept the name")


class Party(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    CALL_CENTRE = "call_centre", _("Call centre")
    MINISTRY = "ministry", _("Ministry")
    PROVIDER = "provider", _("Payment provider")
    CONTRACTOR = "contractor", _("Contractor")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    IN_PERSON = "in_person", _("In person")
    # Context: django.contrib.auth translates a bare "Email" as メールアドレス, and its catalogue
    # is read before ours.
    EMAIL = "email", pgettext_lazy("contact channel", "Email")
    LETTER = "letter", _("Letter")
    FAX = "fax", _("Fax")
    SYSTEM = "system", _("System")


class ComparisonResult(models.TextChoices):
    SAME = "same", _("Same number")
    DIFFERENT = "different", _("Different number")


S = CaseStatus
# from status -> the statuses a new timeline entry may leave the case in. A self-transition
# is an entry that keeps the stage (another contact, a note, a comparison).
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.INTAKE: frozenset({S.INVESTIGATION, S.CLOSED}),
    S.INVESTIGATION: frozenset({S.INVESTIGATION, S.SUSPENDED, S.CLOSED}),
    S.SUSPENDED: frozenset({S.SUSPENDED, S.CONTACTING}),
    S.CONTACTING: frozenset({S.CONTACTING, S.POINTS_RETURNED, S.CORRECTED}),
    S.POINTS_RETURNED: frozenset({S.POINTS_RETURNED, S.REENABLED}),
    S.CORRECTED: frozenset({S.CORRECTED, S.REENABLED}),
    S.REENABLED: frozenset({S.REENABLED, S.NOTIFIED}),
    S.NOTIFIED: frozenset({S.NOTIFIED, S.CLOSED}),
    S.CLOSED: frozenset(),
}

K = EntryKind
# Which entry kinds lead into a status (the status an entry of that kind leaves the case in).
ENTRY_TARGETS: dict[EntryKind, frozenset[CaseStatus]] = {
    K.INTAKE: frozenset({S.INTAKE}),
    K.INVESTIGATION: frozenset({S.INVESTIGATION}),
    K.COMPARISON: frozenset({S.INVESTIGATION}),
    K.NOTE: frozenset(set(S) - {S.INTAKE, S.CLOSED}),
    K.SUSPENSION: frozenset({S.SUSPENDED}),
    K.CONTACT: frozenset({S.CONTACTING, S.POINTS_RETURNED, S.CORRECTED, S.REENABLED, S.NOTIFIED}),
    K.POINT_RETURN: frozenset({S.POINTS_RETURNED}),
    K.CORRECTION: frozenset({S.CORRECTED}),
    K.REENABLE: frozenset({S.REENABLED}),
    # Keeps the stage: after re-enabling, before or after the resident is notified; or, on a
    # later case about a link an earlier case already re-enabled (its returned points left
    # waiting when it closed before the resident linked again), while investigating: the one
    # step left to do (`services.regrant_refusal` refuses it there for any other link).
    K.REGRANT: frozenset({S.INVESTIGATION, S.REENABLED, S.NOTIFIED}),
    K.NOTIFICATION: frozenset({S.NOTIFIED}),
    K.CLOSE: frozenset({S.CLOSED}),
}
# Kinds that start a stage may not repeat inside it (a second suspension, a second return).
STAGE_OPENERS: dict[EntryKind, CaseStatus] = {
    K.INVESTIGATION: S.INVESTIGATION,
    K.SUSPENSION: S.SUSPENDED,
    K.POINT_RETURN: S.POINTS_RETURNED,
    K.CORRECTION: S.CORRECTED,
    K.REENABLE: S.REENABLED,
    K.NOTIFICATION: S.NOTIFIED,
}

# The repair step each programme's case takes between contacting the parties and re-enabling:
# a point programme's points are returned; a public-fund account's or an insurance
# registration's wrong registration is corrected (there are no points to return).
REPAIR_STEP: dict[Programme, EntryKind] = {
    Programme.POINTS: K.POINT_RETURN,
    Programme.PUBLIC_FUND: K.CORRECTION,
    Programme.HEALTH_INSURANCE: K.CORRECTION,
}

# Steps only some programmes' cases take (every other step: every programme's). Only a point
# programme's case has ledger points to grant again.
PROGRAMME_STEPS: dict[EntryKind, frozenset[Programme]] = {
    K.REGRANT: frozenset({Programme.POINTS}),
}
