"""Incidents for links committed under a name-check exception or a confirmed close match.

Benefits writes the links; these receivers record the incident in the same transaction, so a
link and its incident commit together (benefits does not have to know about reporting)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from .constants import IncidentKind, Severity
from .services import incident_record


def _record_name_incident(instance: Any, what: str) -> None:
    exception = getattr(instance, "name_exception", "")
    if exception:
        kind, severity, reason = IncidentKind.EXCEPTION_USED, Severity.MEDIUM, str(exception)
        summary = f"{what} linked under the '{exception}' exception (name check: {instance.name_outcome})."
    elif getattr(instance, "close_confirmed", False):
        kind, severity, reason = (
            IncidentKind.NAME_CLOSE_CONFIRMED,
            Severity.LOW,
            str(instance.name_outcome),
        )
        summary = (
            f"{what} linked after the resident confirmed a {instance.name_outcome} name check."
        )
    else:
        return
    visit = instance.visit
    incident_record(
        kind=kind,
        reason_code=reason,
        severity=severity,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            "what": what,
            "object": instance.pk,
            "name_outcome": instance.name_outcome,
            "name_reason": instance.name_reason,
            "representative_outcome": getattr(instance, "representative_outcome", ""),
        },
    )


@receiver(post_save, sender="benefits.PaymentLink", dispatch_uid="incidents_payment_link_name")
def payment_link_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _record_name_incident(instance, "payment_link")


@receiver(post_save, sender="benefits.PublicFundAccount", dispatch_uid="incidents_public_fund_name")
def public_fund_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        _record_name_incident(instance, "public_fund_account")
