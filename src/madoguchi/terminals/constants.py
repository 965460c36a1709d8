from django.db import models
from django.utils.translation import gettext_lazy as _

CREDENTIAL_SCHEME = "mdt"
BINDING_SCHEME = "mdb"
# Cookie that binds a browser to the terminal it runs on (set at enrolment, signed).
TERMINAL_COOKIE = "madoguchi_terminal"
TERMINAL_COOKIE_MAX_AGE = 400 * 24 * 3600


class DeskSessionCloseReason(models.TextChoices):
    SIGNED_OUT = "signed_out", _("Signed out")
    SUPERSEDED = "superseded", _("Another sign-in on the terminal")
    EXPIRED = "expired", _("Expired")
    TERMINAL_REVOKED = "terminal_revoked", _("Terminal credential revoked")
    # Its browser made no request for STAFF_IDLE_SECONDS (the sweeper closed it).
    IDLE = "idle", _("No request from the desk's browser")
