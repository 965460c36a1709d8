"""Remediation steps a case runs: suspend, return, re-enable, re-grant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit

from .. import ledger
from ..constants import (
    GrantStatus,
    LinkStatus,
)
from ..events import (
    BENEFITS_LINK_REPLACED,
    BENEFITS_LINK_SUSPENDED,
)
from ..models import (
    Grant,
    PaymentLink,
)
from .base import BenefitsRefused

# --- remediation (called by cases) -------------------------------------------------------------


def link_suspend(link: PaymentLink, *, actor: Any, reason: str) -> PaymentLink:
    """Suspend a link (利用停止) and its unpaid points. Suspending twice changes nothing."""
    with transaction.atomic():
        locked = (
            PaymentLink.objects.select_for_update()
            .select_related("provider", "programme", "holder")
            .get(pk=link.pk)
        )
        if locked.status == LinkStatus.EFFECTIVE:
            locked.status = LinkStatus.SUSPENDED
            locked.status_changed_at = timezone.now()
            locked.status_reason = reason
            locked.save(update_fields=["status", "status_changed_at", "status_reason"])
            ledger.suspend_link_points(locked, actor=actor, reason=reason)
            audit.record(
                BENEFITS_LINK_SUSPENDED,
                actor=actor,
                subject=locked,
                payload={
                    "provider": locked.provider.code,
                    "account": locked.masked_account,
                    "reason": reason,
                },
            )
    return locked


def ledger_return(link: PaymentLink, *, actor: Any, reason: str) -> Any:
    """Return the points granted through a (wrong) link: reversal entries from the account
    that received them; the grants become returned and can be re-granted."""
    with transaction.atomic():
        return ledger.return_link_points(link, actor=actor, reason=reason)


def link_replace_via_case(
    link: PaymentLink, *, actor: Any, case_ref: str, reason: str
) -> PaymentLink:
    """Release a suspended link through a remediation case: the resident (or the account's
    owner) can then link again at a desk, signed by their card. The next link of this resident
    and programme records that it replaces this one."""
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().select_related("provider").get(pk=link.pk)
        if locked.status != LinkStatus.SUSPENDED:
            raise BenefitsRefused(
                "link_not_suspended",
                _("Suspend the link before replacing it."),
            )
        locked.status = LinkStatus.REPLACED
        locked.status_changed_at = timezone.now()
        locked.status_reason = f"{case_ref}: {reason}"
        locked.save(update_fields=["status", "status_changed_at", "status_reason"])
        audit.record(
            BENEFITS_LINK_REPLACED,
            actor=actor,
            subject=locked,
            payload={
                "provider": locked.provider.code,
                "account": locked.masked_account,
                "case": case_ref,
            },
        )
    return locked


def ledger_regrant(grant: Grant, *, to_link: PaymentLink, actor: Any, reason: str) -> Grant:
    """Grant a returned grant's points again, to the right resident through their own link."""
    if grant.status != GrantStatus.RETURNED:
        raise BenefitsRefused(
            "grant_not_returned",
            _("Only a returned grant can be re-granted."),
        )
    if to_link.status != LinkStatus.EFFECTIVE or to_link.programme_id != grant.programme_id:
        raise BenefitsRefused(
            "link_not_effective",
            _("The target link is not effective for this programme."),
        )
    with transaction.atomic():
        return ledger.grant(
            holder=to_link.holder,
            programme=grant.programme,
            version=grant.programme_version,
            category=grant.category,
            points=grant.points,
            link=to_link,
            regrant_of=grant,
            source_ref=reason,
            actor=actor,
        )
