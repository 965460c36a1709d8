from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    CITY = "city", _("City")
    CONTRACTOR = "contractor", _("Contractor")


class Role(models.TextChoices):
    """Roles are Django groups of these names; permissions come from `accounts.roles`."""

    DESK_STAFF = "desk_staff", _("Desk staff")
    SUPERVISOR = "supervisor", _("Contractor supervisor")
    CITY_OFFICIAL = "city_official", _("City official")
    OPERATOR = "operator", _("Operator")


# Roles that must pass a TOTP second factor at sign-in.
ROLES_REQUIRING_TOTP = frozenset({Role.CITY_OFFICIAL, Role.OPERATOR})
