"""Grants: fixed grants on triggers and the provider-reported card-acquisition grant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.desk.models import Visit
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


def grants_lock(holder_id: int) -> None:
    """Inside a transaction that evaluates a resident's fixed grants away from their desk (the
    outbox worker recording the insurer's answer), before any other row lock of it: lock the
    resident (their `Holder` row) and then their open visits, by pk.

    A desk's completion evaluates the grants under its visit's lock (the touch that begins it)
    and commits after; each side read what the other had not committed yet (READ COMMITTED),
    so a registration recorded `registered` while the same resident's point application
    committed was granted by neither (side doors, round 22). Now a completion under way holds
    its visit, and the worker waits for it to commit before it evaluates; a completion that
    comes later waits at its visit for the worker's commit, then evaluates with the
    registration as recorded. No visit opens meanwhile: a visit's start locks the holder
    first. The order is the visit start's (the holder, then a visit) and a case's (the
    holder, then the case and benefits' rows): holder first, then visits, then the outbox call
    and the registration (docs/benefits.md, "Ledger"). NO KEY UPDATE, as the visit start and
    a case's step take the holder: the rows inserted beside it that refer to it (a
    completion's) are not held up."""
    Holder.objects.select_for_update(no_key=True).filter(pk=holder_id).first()
    list(
        Visit.objects.select_for_update(no_key=True, of=("self",))
        .filter(holder_id=holder_id, ended_at__isnull=True)
        .order_by("pk")
        .only("pk")
    )


def grants_evaluate(holder: Holder, *, actor: Any = None, completion: Any = None) -> list[Grant]:
    """Grant every fixed category whose registration exists and whose programme the resident
    applied to (an effective link), in whichever order they came. Each category is granted
    once: a returned grant comes back only through ledger_regrant.

    Called by a completion (under its visit's lock) or, away from the desk, after
    `grants_lock` (the outbox worker): the two never both miss what the other commits."""
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
