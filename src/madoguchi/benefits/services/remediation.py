"""Remediation steps a case runs: suspend, return, re-enable, re-grant."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.incidents.models import Incident
from madoguchi.refusals import ByLanguage

from .. import ledger
from ..constants import (
    WITHDRAWN_LINK_SUSPENDED,
    WITHDRAWN_POINTS_RETURNED,
    GrantStatus,
    LinkStatus,
    RegistrationState,
    SuspensionState,
)
from ..events import (
    BENEFITS_LINK_REPLACED,
    BENEFITS_LINK_SUSPENDED,
    BENEFITS_PUBLIC_FUND_RELEASED,
    BENEFITS_PUBLIC_FUND_SUSPENDED,
)
from ..models import (
    Grant,
    HealthInsuranceRegistration,
    OutsideCall,
    PaymentLink,
    PublicFundAccount,
)
from . import payouts
from .base import BenefitsRefused

# --- remediation (called by cases) -------------------------------------------------------------


def _set_status(row: PaymentLink | PublicFundAccount, status: LinkStatus, reason: str) -> None:
    """Change a locked link's or registration's status, with when and why."""
    row.status = status
    row.status_changed_at = timezone.now()
    row.status_reason = reason
    row.save(update_fields=["status", "status_changed_at", "status_reason"])


_NOT_SUSPENDED = {
    "link_not_suspended": _("Suspend the link before replacing it."),
    "registration_not_suspended": _(
        "Suspend the public-fund account registration before releasing it."
    ),
}


def _release(row: PaymentLink | PublicFundAccount, reason: str, refusal: str) -> None:
    """Release a locked, suspended link or registration (status replaced); refused, saying
    why, if it is not suspended."""
    if row.status != LinkStatus.SUSPENDED:
        raise BenefitsRefused(refusal, _NOT_SUSPENDED[refusal])
    _set_status(row, LinkStatus.REPLACED, reason)


def link_suspend(link: PaymentLink, *, actor: Any, reason: str) -> PaymentLink:
    """Suspend a link (利用停止) and its unpaid points; its items in payout batches not yet
    sent are withdrawn from them. Suspending twice changes nothing."""
    with transaction.atomic():
        locked = (
            PaymentLink.objects.select_for_update()
            .select_related("provider", "programme", "holder")
            .get(pk=link.pk)
        )
        if locked.status == LinkStatus.EFFECTIVE:
            _set_status(locked, LinkStatus.SUSPENDED, reason)
            payouts.link_items_withdraw(locked, reason=WITHDRAWN_LINK_SUSPENDED, actor=actor)
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


_PAYOUT_IN_DOUBT = _(
    "Some of these points are in payout batch %(batch)s to %(provider)s, sent to the payment "
    "service with its answer not recorded yet, so it is not known whether they were paid into "
    "the account. Send the batch again (`madoguchi payouts send %(batch)s`; the service "
    "repeats its first answer), then return the points."
)


def _in_doubt(items: list[Any]) -> BenefitsRefused:
    """`payout_in_doubt`, naming the batches (and their provider) to send again."""
    batches = {item.batch.batch_id: item.batch for item in items}
    first = next(iter(batches.values()))
    provider = first.provider
    return BenefitsRefused(
        "payout_in_doubt",
        _PAYOUT_IN_DOUBT,
        params={
            "batch": ", ".join(sorted(batches)),
            "provider": ByLanguage(
                provider.display_name_ja, provider.display_name_en or provider.display_name_ja
            ),
        },
    )


def ledger_return(link: PaymentLink, *, actor: Any, reason: str) -> Any:
    """Return the points granted through a (wrong) link: reversal entries from the account
    that received them; the grants become returned and can be re-granted. The link's items in
    payout batches not yet sent are withdrawn; refused `payout_in_doubt`, naming the batch,
    while one is in a batch sent and not yet answered (it may have been paid: its answer
    decides from where the points come back)."""
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().get(pk=link.pk)
        in_doubt = payouts.link_items_withdraw(
            locked, reason=WITHDRAWN_POINTS_RETURNED, actor=actor
        )
        if in_doubt:
            raise _in_doubt(in_doubt)
        return ledger.return_link_points(locked, actor=actor, reason=reason)


def link_replace_via_case(
    link: PaymentLink, *, actor: Any, case_ref: str, reason: str
) -> PaymentLink:
    """Release a suspended link through a remediation case: the resident (or the account's
    owner) can then link again at a desk, signed by their card. The next link of this resident
    and programme records that it replaces this one."""
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update().select_related("provider").get(pk=link.pk)
        _release(locked, f"{case_ref}: {reason}", "link_not_suspended")
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


def _fund_event(event: Any, account: PublicFundAccount, actor: Any, **more: str) -> None:
    """A public-fund registration's audit event: the bank and the account's last 4, and more."""
    payload = {"bank": account.bank_code, "last4": account.account_last4, **more}
    audit.record(event, actor=actor, subject=account, payload=payload)


def public_fund_suspend(
    account: PublicFundAccount, *, actor: Any, reason: str
) -> PublicFundAccount:
    """Suspend a public-fund account registration (利用停止): it no longer counts as the
    resident's registered account. Suspending twice changes nothing."""
    with transaction.atomic():
        locked = PublicFundAccount.objects.select_for_update().get(pk=account.pk)
        if locked.status == LinkStatus.EFFECTIVE:
            _set_status(locked, LinkStatus.SUSPENDED, reason)
            _fund_event(BENEFITS_PUBLIC_FUND_SUSPENDED, locked, actor, reason=reason)
    return locked


def public_fund_release_via_case(
    account: PublicFundAccount, *, actor: Any, case_ref: str, reason: str
) -> PublicFundAccount:
    """Release a suspended public-fund account registration through a remediation case (the
    status a released payment link gets): the resident can register their own account, and the
    account's holder can register it to themselves, at a desk with their card."""
    with transaction.atomic():
        locked = PublicFundAccount.objects.select_for_update().get(pk=account.pk)
        _release(locked, f"{case_ref}: {reason}", "registration_not_suspended")
        _fund_event(BENEFITS_PUBLIC_FUND_RELEASED, locked, actor, case=case_ref)
    return locked


def ledger_regrant(grant: Grant, *, to_link: PaymentLink, actor: Any, reason: str) -> Grant:
    """Grant a returned grant's points again, to the right resident through their own link.
    Once per returned grant: under the grant's row lock, a grant already granted again is
    refused `grant_already_regranted` (two re-grants at once: the second waits, then is
    refused), never granted twice."""
    with transaction.atomic():
        locked = (
            Grant.objects.select_for_update()
            .select_related("programme", "programme_version")
            .get(pk=grant.pk)
        )
        if locked.status != GrantStatus.RETURNED:
            raise BenefitsRefused(
                "grant_not_returned",
                _("Only a returned grant can be re-granted."),
            )
        if Grant.objects.filter(regrant_of=locked).exists():
            raise BenefitsRefused(
                "grant_already_regranted",
                _("These returned points have already been granted again."),
            )
        if to_link.status != LinkStatus.EFFECTIVE or to_link.programme_id != locked.programme_id:
            raise BenefitsRefused(
                "link_not_effective",
                _("The target link is not effective for this programme."),
            )
        return ledger.grant(
            holder=to_link.holder,
            programme=locked.programme,
            version=locked.programme_version,
            category=locked.category,
            points=locked.points,
            link=to_link,
            regrant_of=locked,
            source_ref=reason,
            actor=actor,
        )


# `outside reconcile`'s incident for a registration whose reference the insurer does not hold
# under our request's key (`reconcile.REF_DIFFERS`).
REF_DIFFERS_INCIDENT = "reconcile_registration_ref_differs"


def health_insurance_ref_disputed(registration: HealthInsuranceRegistration) -> bool:
    """Whether `outside reconcile` found that the insurer holds this registration's request
    under another registration than the reference we hold (`registration_ref_differs`):
    asking the insurer to cancel by our reference could cancel another person's registration.
    It stands while the reference is the one reconcile found wrong."""
    key = OutsideCall.objects.filter(registration=registration).values_list("key", flat=True)
    return Incident.objects.filter(
        reason_code=REF_DIFFERS_INCIDENT,
        detail__key__in=list(key),
        detail__ours=registration.registration_ref,
    ).exists()


def health_insurance_suspend_via_case(
    registration: HealthInsuranceRegistration, *, actor: Any, case_ref: str, reason: str
) -> Any:
    """Ask the insurer, through the outbox, to cancel (suspend) a wrong health-insurance use
    registration: the call is committed with the caller's transaction (the case's step) and
    sent by the worker after the commit, never inside it. Only a registration registered at
    the insurer and still effective can be; refused `registration_not_at_insurer` otherwise,
    and `suspension_requested` while one is already asked. Returns the outbox call."""
    from . import outbox  # the outbox imports this package's grants

    with transaction.atomic():
        locked = HealthInsuranceRegistration.objects.select_for_update().get(pk=registration.pk)
        if locked.suspension == SuspensionState.SUSPENDING:
            raise BenefitsRefused(
                "suspension_requested",
                _(
                    "The insurer has already been asked to suspend this registration; wait for "
                    "its answer on the case page."
                ),
            )
        if (
            locked.status != LinkStatus.EFFECTIVE
            or locked.state != RegistrationState.REGISTERED
            or not locked.registration_ref
        ):
            raise BenefitsRefused(
                "registration_not_at_insurer",
                _(
                    "This health-insurance registration is not registered at the insurer "
                    "(still being registered, refused, or already suspended): there is nothing "
                    "for the insurer to suspend."
                ),
            )
        if health_insurance_ref_disputed(locked):
            raise BenefitsRefused(
                "registration_ref_differs",
                _(
                    "The insurer holds this registration under another reference than the one "
                    "recorded here (outside reconcile found it): asking the insurer to cancel "
                    "it by this reference could cancel another person's registration. Settle "
                    "it with the insurer by telephone or in writing."
                ),
            )
        return outbox.enqueue_cancellation(locked, actor=actor, case_ref=case_ref, reason=reason)
