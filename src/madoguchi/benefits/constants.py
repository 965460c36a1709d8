from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgrammeScope(models.TextChoices):
    NATIONAL = "national", _("National")
    MUNICIPAL = "municipal", _("Municipal add-on")


class CategoryKind(models.TextChoices):
    """How a category's points are computed."""

    FIXED = "fixed", _("Fixed points")
    RATE = "rate", _("Share of charges or purchases, capped")


class Trigger(models.TextChoices):
    """What must be registered (besides an application) before a category is granted."""

    APPLICATION = "application", _("Point application")
    HEALTH_INSURANCE = "health_insurance", _("Health-insurance use registration")
    PUBLIC_FUND = "public_fund", _("Public-fund receiving account registration")
    PROVIDER_REPORT = "provider_report", _("Charges reported by the payment provider")


# The English names of the national programme's categories, as its seed (migration 0002)
# wrote them without one: programme code -> category code -> name. A version that names a
# category in English itself (`label_en`) is read first.
CATEGORY_NAMES_EN: dict[str, dict[str, str]] = {
    "mynapoint-2": {
        "card_acquisition": "Getting a My Number card (25% of a charge or purchase)",
        "health_insurance": "Registering the card as a health-insurance card",
        "public_fund": "Registering a public-fund receiving account",
    }
}


class LinkStatus(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    SUSPENDED = "suspended", _("Suspended")
    REPLACED = "replaced", _("Replaced through a case")


class RegistrationState(models.TextChoices):
    """Where a registration that needs an outside system's answer stands (docs/outside.md)."""

    REGISTERING = "registering", _("Registering (waiting for the outside system)")
    REGISTERED = "registered", _("Registered")
    REFUSED = "refused", _("Refused by the outside system")


class SuspensionState(models.TextChoices):
    """Where a remediation case's suspension (cancellation at the insurer) of a health-insurance
    registration stands (docs/cases.md): asked through the outbox, done, or refused."""

    NONE = "", _("Not suspended")
    SUSPENDING = "suspending", _("Suspending (waiting for the insurer)")
    SUSPENDED = "suspended", _("Suspended at the insurer")
    REFUSED = "refused", _("The insurer refused the suspension")


class CallState(models.TextChoices):
    """An outbox row: pending until the outside system answered; then done or refused."""

    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


# The outbox's calls (`OutsideCall.kind`, the names in services/outbox.py), stored as codes
# that the worker, its log and docs/outside.md name; the admin shows them in words beside.
CALL_WORDS = {
    "insurer.register_use": _("Register the card for health-insurance use at the insurer"),
    "insurer.cancel_registration": _("Suspend the card's health-insurance use at the insurer"),
}

# The insurer's answer to a registration (`HealthInsuranceRegistration.insurer_status`, the
# outside adapter's RegistrationStatus), in words.
INSURER_ANSWER_WORDS = {
    "registered": _("Registered by this request"),
    "already_registered": _("Already registered before (nothing changed)"),
}


class KanaSource(models.TextChoices):
    CERTIFIED = "certified", _("Certified reading")
    RESIDENT_ENTRY = "resident_entry", _("Entered by the resident, confirmed on screen")


class NameException(models.TextChoices):
    NONE = "", _("None")
    MINOR_REPRESENTATIVE = "minor_representative", _("Minor using a legal representative's account")


class Relationship(models.TextChoices):
    PARENT = "parent", _("Parent (親権者)")
    GUARDIAN = "guardian", _("Guardian of a minor (未成年後見人)")
    ADULT_GUARDIAN = "adult_guardian", _("Adult guardian (成年後見人)")


# How the relationship reads in the signed lines and on the receipt (Japanese, for the resident).
RELATIONSHIP_JA: dict[str, str] = {
    Relationship.PARENT: "親権者",
    Relationship.GUARDIAN: "未成年後見人",
    Relationship.ADULT_GUARDIAN: "成年後見人",
}
RELATIONSHIP_EN: dict[str, str] = {
    Relationship.PARENT: "Parent (person with parental authority)",
    Relationship.GUARDIAN: "Guardian of a minor",
    Relationship.ADULT_GUARDIAN: "Adult guardian",
}
RELATIONSHIP_ROLES = [(str(r.value), RELATIONSHIP_JA[r], RELATIONSHIP_EN[r]) for r in Relationship]


class GrantStatus(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    RETURNED = "returned", _("Returned")


class TransferKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    SUSPENSION = "suspension", _("Suspension")
    RETURN = "return", _("Return")
    REGRANT = "regrant", _("Re-grant")
    PAYOUT = "payout", _("Payout")


class AccountKind(models.TextChoices):
    """Ledger accounts. Points flow funding → due → paid; suspension parks due points."""

    FUNDING = "funding", _("Programme funding")
    DUE = "due", _("Points due to a resident")
    SUSPENDED = "suspended", _("Points suspended")
    PAID = "paid", _("Points paid out through a provider")


class BatchStatus(models.TextChoices):
    OPEN = "open", _("Created, not yet accepted")
    ACCEPTED = "accepted", _("Accepted by the provider")
    WITHDRAWN = "withdrawn", _("Withdrawn before sending: nothing left to pay")


# A payout item's `result` when it was taken out of its batch before the batch was first sent
# (its `reason` says why: one of WITHDRAWN_REASONS); the provider's answers are paid / rejected.
ITEM_WITHDRAWN = "withdrawn"
WITHDRAWN_LINK_SUSPENDED = "link_suspended"
WITHDRAWN_LINK_NOT_EFFECTIVE = "link_not_effective"
WITHDRAWN_POINTS_RETURNED = "points_returned"
WITHDRAWN_POINTS_NOT_DUE = "points_not_due"
# The provider's answers of an item: paid, or rejected (its `reason` the provider's code:
# account_suspended, account_closed, account_not_found).
ITEM_PAID = "paid"
ITEM_REJECTED = "rejected"


NATIONAL_PROGRAMME = "mynapoint-2"
MINOR_AGE = 18
