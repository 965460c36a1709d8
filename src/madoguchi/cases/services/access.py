"""Who may open and who may run a case, and the refusal every case step raises."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.refusals import Refusal

from ..models import Case

INTAKE_ROLES = (Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL)


class CaseRefused(Refusal):
    """A refused case step."""

    code = "case_refused"
    status = 409


def can_open(user: Any) -> bool:
    return bool(user.is_superuser or any(user.has_role(r) for r in INTAKE_ROLES))


def _require_can_open(actor: User) -> None:
    if not can_open(actor):
        raise CaseRefused(
            "not_allowed_to_open",
            _(
                "Only desk staff, contractor supervisors and city officials open cases; your "
                "role is none of these."
            ),
        )


def incident_has_case(case: Case) -> CaseRefused:
    """The refusal of a second case from an incident, naming the first."""
    return CaseRefused(
        "incident_has_case",
        _(
            "This incident already has a case, %(ref)s: add what is new to that case instead "
            "of opening a second one."
        ),
        params={"ref": case.reference},
    )


def can_run(user: Any) -> bool:
    return bool(user.is_superuser or user.has_role(Role.CITY_OFFICIAL))


def require_official(actor: User) -> None:
    """Refuse (`not_city_official`, saying why) anyone but a city official: the check every
    case step makes, public for the apps that open cases on the cases app's behalf (scans)."""
    if not can_run(actor):
        raise CaseRefused(
            "not_city_official",
            _("Only city officials run cases; contractor staff can only open an intake."),
        )
