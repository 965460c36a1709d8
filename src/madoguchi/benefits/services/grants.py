"""Grants: fixed grants on triggers and the provider-reported card-acquisition grant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.identity.models import Holder

from .. import ledger
from ..constants import (
    CategoryKind,
    LinkStatus,
    RegistrationState,
    Trigger,
)
from ..models import (
    Grant,
    HealthInsuranceRegistration,
    PaymentLink,
    PublicFundAccount,
)
from .base import BenefitsRefused

# --- grants ------------------------------------------------------------------------------------


def _trigger_met(holder: Holder, trigger: str) -> bool:
    if trigger == Trigger.APPLICATION:
        return True
    if trigger == Trigger.HEALTH_INSURANCE:
        return HealthInsuranceRegistration.objects.filter(
            holder=holder, status=LinkStatus.EFFECTIVE, state=RegistrationState.REGISTERED
        ).exists()
    if trigger == Trigger.PUBLIC_FUND:
        return PublicFundAccount.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE).exists()
    return False


def grants_evaluate(holder: Holder, *, actor: Any = None, completion: Any = None) -> list[Grant]:
    """Grant every fixed category whose registration exists and whose programme the resident
    applied to (an effective link), in whichever order they came. Each category is granted
    once: a returned grant comes back only through ledger_regrant."""
    made = []
    links = PaymentLink.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE).select_related(
        "programme", "programme_version"
    )
    for link in links:
        version = link.programme_version
        for cat in version.categories:
            if cat["kind"] != CategoryKind.FIXED or not _trigger_met(holder, cat["trigger"]):
                continue
            if Grant.objects.filter(
                holder=holder, programme=link.programme, category=cat["code"]
            ).exists():
                continue
            made.append(
                ledger.grant(
                    holder=holder,
                    programme=link.programme,
                    version=version,
                    category=cat["code"],
                    points=cat["points"],
                    link=link,
                    source_ref=f"trigger:{cat['trigger']}",
                    completion=completion,
                    actor=actor,
                )
            )
    return made


def card_acquisition_grant(
    link: PaymentLink,
    *,
    charged_yen: int,
    source_ref: str,
    actor: Any = None,
    category: str = "card_acquisition",
) -> Grant:
    """The charge/purchase-based grant, fed by the provider's report: rate% of the charged
    amount, capped; one effective grant per resident (report the total once)."""
    cat = link.programme_version.category(category)
    if cat is None or cat["kind"] != CategoryKind.RATE:
        raise BenefitsRefused(
            "no_such_category",
            _("This programme has no rate category %(category)s."),
            params={"category": category},
        )
    if link.status != LinkStatus.EFFECTIVE:
        raise BenefitsRefused(
            "link_not_effective",
            _(
                "The link is suspended or was released by a remediation case, so no points "
                "are granted through it."
            ),
        )
    points = min(int(charged_yen * cat["rate_percent"]) // 100, int(cat["cap"]))
    with transaction.atomic():
        return ledger.grant(
            holder=link.holder,
            programme=link.programme,
            version=link.programme_version,
            category=category,
            points=points,
            link=link,
            source_ref=source_ref,
            actor=actor,
        )
