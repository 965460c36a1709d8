from django.db import models
from django.utils.translation import gettext_lazy as _

# Who reported, on a case the resident opened or added to from their own page.
REPORTED_BY = "本人（住民用ページ、カードで本人確認済み）"


class EndReason(models.TextChoices):
    CARD_REMOVED = "card_removed", _("The card was removed")
    IDLE = "idle", _("No action for 2 minutes")
    ABSOLUTE_LIMIT = "absolute_limit", _("Time limit reached")
    PRESENCE_LOST = "presence_lost", _("The card agent stopped answering")
    SIGNED_OUT = "signed_out", _("Signed out")
    SUPERSEDED = "superseded", _("Another sign-in in this browser")


class ItemKind(models.TextChoices):
    """What a resident can report as "this was not me"."""

    LINK = "link", _("Payment service link")
    PUBLIC_FUND = "public_fund", _("Public-fund receiving account")
    HEALTH_INSURANCE = "health_insurance", _("Health-insurance use registration")
    COMPLETION = "completion", _("Signed completion")


class NotMeReason(models.TextChoices):
    NEVER_APPLIED = "never_applied", _("I never applied for this")
    NOT_MY_ACCOUNT = "not_my_account", _("The account is not mine")
    NOT_AT_DESK = "not_at_desk", _("I was not at that desk at that time")
    OTHER = "other", _("Something else is wrong")


SESSION_KEY = "resident_session"
