"""The benefits functions a case calls, in one place (an adapter: if benefits changes a name,
only this module follows)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from madoguchi.benefits import identifiers, states
from madoguchi.benefits import services as benefits
from madoguchi.benefits.constants import GrantStatus, LinkStatus, RegistrationState
from madoguchi.benefits.models import (
    Grant,
    HealthInsuranceRegistration,
    OutsideCall,
    PaymentLink,
    PublicFundAccount,
)
from madoguchi.incidents.constants import IncidentKind


def identifier_matches(presented: str, stored_hash: str) -> bool:
    return identifiers.identifier_matches(presented, stored_hash)


def identifier_hash(value: str) -> str:
    return identifiers.identifier_hash(value)


def identifier_last4(value: str) -> str:
    return identifiers.last4(value)


def bank_account_identifier(
    bank_code: str, branch_code: str, account_type: str, account_number: str
) -> str:
    return identifiers.bank_account_identifier(bank_code, branch_code, account_type, account_number)


def insured_identifier(insurer_number: str, symbol: str, number: str, branch: str) -> str:
    return identifiers.insured_identifier(insurer_number, symbol, number, branch)


# The parts of a programme's identifier besides its number, in the order the registration
# hashes them (`bank_account_identifier`, `insured_identifier`); the points' is the number.
IDENTIFIER_PARTS: dict[str, tuple[str, ...]] = {
    "points": (),
    "public_fund": ("bank_code", "branch_code", "account_type"),
    "health_insurance": ("insurer_number", "insured_symbol", "branch"),
}


def programme_identifier(programme: str, number: str, parts: dict[str, str]) -> str | None:
    """The one string a programme's registration hashed, from its number and its other parts
    (`IDENTIFIER_PARTS`): a payment card number itself, a bank account (bank, branch, type,
    number), insurance details (insurer number, symbol, number, branch). None when a part is
    missing: a number hashed alone would never equal the registration's hash."""
    wanted = IDENTIFIER_PARTS.get(programme, ())
    if any(not str(parts.get(k) or "").strip() for k in wanted):
        return None
    if programme == "public_fund":
        return bank_account_identifier(
            parts["bank_code"], parts["branch_code"], parts["account_type"], number
        )
    if programme == "health_insurance":
        return insured_identifier(
            parts["insurer_number"], parts["insured_symbol"], number, parts["branch"]
        )
    return number


def _before(rows: Any, opened_at: Any) -> Any:
    """The latest of `rows` made before the case was opened (`opened_at`; None: any)."""
    if opened_at is not None:
        rows = rows.filter(created_at__lte=opened_at)
    return rows.order_by("-pk").first()


# A public-fund or insurance case's registrations, by programme.
_REGISTRATIONS: dict[str, Any] = {
    "public_fund": PublicFundAccount,
    "health_insurance": HealthInsuranceRegistration,
}


def registration(
    programme: str,
    payment_link: Any,
    holder: Any,
    *,
    opened_at: Any = None,
    acted_on: Any = None,
) -> Any:
    """The registration a case is about, read once: the point link; for a public-fund or
    insurance case the registration the case's own step acted on (`acted_on`: the pk its
    suspension step recorded), else the resident's latest registration made before the case
    was opened (`opened_at`), whatever its status now; None when there is none. Never one
    made after the case was opened: a re-registration is the case's remedy, not its subject,
    and compared with it what the resident presents would be "the same" (docs/cases.md)."""
    if programme == "points":
        return payment_link
    if holder is None:
        return None
    rows = _REGISTRATIONS[programme].objects.filter(holder=holder)
    if acted_on is not None:
        # The one named may also be an account made into the resident's own account for a
        # minor they were the legal representative of (their own "this was not me" on it).
        named = _REGISTRATIONS[programme].objects.filter(_of_or_for(programme, holder))
        row = named.filter(pk=acted_on).first()
        if row is not None:
            return row
    return _before(rows, opened_at)


def _of_or_for(programme: str, holder: Any) -> Q:
    """A registration of `holder`'s, or a public-fund account made into `holder`'s own account
    for another resident they were the legal representative of (`representative`, their own
    card in that visit); an insurance registration has no representative."""
    if programme == "public_fund":
        return Q(holder=holder) | Q(representative__certificate__holder=holder)
    return Q(holder=holder)


def reported_by_them(row: Any, holder_id: Any) -> bool:
    """Whether `row` (a registration) is one a case of the holder `holder_id` can be about: the
    holder's own, or one made into their own account as another resident's legal
    representative (a public-fund account under the minor-representative exception)."""
    if row.holder_id == holder_id:
        return True
    representative = getattr(row, "representative", None)
    return representative is not None and representative.certificate.holder_id == holder_id


# What a signed completion can commit that links a resident to money, by the case programme
# it is about, in the order a case takes it when a completion committed several.
_COMMITTED: tuple[tuple[str, Any], ...] = (("points", PaymentLink), *_REGISTRATIONS.items())
# An incident's detail naming the record it is about (incidents.receivers): what, and its pk.
_NAMED: dict[str, tuple[str, Any]] = {
    "payment_link": ("points", PaymentLink),
    "public_fund_account": ("public_fund", PublicFundAccount),
}


def committed_by(completion: Any) -> tuple[str, Any] | None:
    """The programme and row of the first record linking the resident to money that a signed
    completion committed (a payment service link, else a public-fund account, else an insurance
    registration), None when it committed none."""
    return _first_committed(completion=completion)


def _first_committed(**where: Any) -> tuple[str, Any] | None:
    """The programme and row of the first record of `_COMMITTED` matching `where`, None if none."""
    for programme, model in _COMMITTED:
        row = model.objects.filter(**where).order_by("pk").first()
        if row is not None:
            return programme, row
    return None


# The incidents about a visit as a whole, whose case is about what the visit committed: a
# complaint about it, another card placed during it, its after-completion checklist left
# unticked. Not a refusal or an outage (a procedure that committed nothing, whatever the visit
# committed before it), nor a PIN lock.
_ABOUT_THE_VISIT = frozenset(
    {IncidentKind.COMPLAINT, IncidentKind.CARD_SWAPPED, IncidentKind.CHECKLIST_UNTICKED}
)


def incident_subject(incident: Any) -> tuple[str, Any] | None:
    """What an incident of a resident's visit is about, as a case takes it: the record its
    detail names (a link or account made after a close match or under an exception; the
    insurance registration of the insurer's call), else, for an incident about the visit as a
    whole (`_ABOUT_THE_VISIT`), the first one the visit committed; None otherwise."""
    detail = incident.detail or {}
    named = _NAMED.get(str(detail.get("what", "")))
    if named is not None and detail.get("object") is not None:
        row = named[1].objects.filter(pk=detail["object"]).first()
        if row is not None:
            return named[0], row
    if detail.get("key"):
        call = OutsideCall.objects.filter(key=str(detail["key"])).first()
        # The registration the call made, or the one it was to cancel (a case's suspension).
        registration = call and (call.registration or call.cancels)
        if registration is not None:
            return "health_insurance", registration
    if incident.visit_id is None or incident.kind not in _ABOUT_THE_VISIT:
        return None
    return _first_committed(visit_id=incident.visit_id)


def is_registration_of(row: Any, programme: str) -> bool:
    """Whether `row` is a registration of that programme (a public-fund account, an insurance
    registration)."""
    return programme in _REGISTRATIONS and isinstance(row, _REGISTRATIONS[programme])


def registration_by_pk(programme: str, pk: Any) -> Any:
    """That programme's registration with this pk, None if none."""
    return _REGISTRATIONS[programme].objects.filter(pk=pk).first()


def registered_only_after(programme: str, holder: Any, opened_at: Any) -> bool:
    """Whether the resident's registrations of a public-fund or insurance programme were all
    made after the case was opened (`opened_at`): there are some, and `registration` finds
    none, since a case is never about one made after it was opened."""
    if programme == "points" or holder is None or opened_at is None:
        return False
    rows = _REGISTRATIONS[programme].objects.filter(holder=holder, created_at__gt=opened_at)
    return bool(rows.exists())


def registered_hash(row: Any) -> str:
    """The keyed hash of what a registration (`registration`) registered: the payment service's
    number, the public-fund account, or the insured person's number ("" if none)."""
    if row is None:
        return ""
    if isinstance(row, HealthInsuranceRegistration):
        return str(row.insured_hash)
    return str(row.account_hash)


def public_fund_registration(holder: Any, legacy_hash: str = "") -> PublicFundAccount | None:
    """The resident's effective public-fund account registration (at most one), or None; with
    a legacy link's hash, only if the registration is that account."""
    if holder is None:
        return None
    rows = PublicFundAccount.objects.filter(holder=holder, status=LinkStatus.EFFECTIVE)
    if legacy_hash:
        rows = rows.filter(account_hash=legacy_hash)
    return rows.order_by("-pk").first()


def public_fund_by_pk(pk: Any) -> PublicFundAccount | None:
    return PublicFundAccount.objects.filter(pk=pk).first()


def public_fund_suspend(account: Any, *, actor: Any, reason: str) -> Any:
    return benefits.public_fund_suspend(account, actor=actor, reason=reason)


def public_fund_release(account: Any, *, actor: Any, case_ref: str, reason: str) -> Any:
    return benefits.public_fund_release_via_case(
        account, actor=actor, case_ref=case_ref, reason=reason
    )


def insurance_suspendable(row: Any) -> bool:
    """Whether a health-insurance registration can be suspended at the insurer: effective and
    registered there (it has the insurer's reference)."""
    return (
        isinstance(row, HealthInsuranceRegistration)
        and row.status == LinkStatus.EFFECTIVE
        and row.state == RegistrationState.REGISTERED
        and bool(row.registration_ref)
    )


def insurance_ref_disputed(row: Any) -> bool:
    """Whether reconcile found the insurer holding the registration under another reference
    than ours: nothing is asked of the insurer by ours (it may name another person's)."""
    return benefits.health_insurance_ref_disputed(row)


def insurance_suspend(row: Any, *, actor: Any, case_ref: str, reason: str) -> Any:
    """The insurer's cancellation of the registration, queued in the outbox (its call)."""
    return benefits.health_insurance_suspend_via_case(
        row, actor=actor, case_ref=case_ref, reason=reason
    )


def latest_cancellation(row: Any) -> Any:
    return states.latest_cancellation(row)


def insurer_refusal(code: str, lang: str) -> str:
    return states.insurer_refusal(code, lang)


def insurance_by_pk(pk: Any) -> HealthInsuranceRegistration | None:
    return HealthInsuranceRegistration.objects.filter(pk=pk).first()


def suspend(link: Any, *, actor: Any, reason: str) -> Any:
    return benefits.link_suspend(link, actor=actor, reason=reason)


def return_points(link: Any, *, actor: Any, reason: str) -> Any:
    return benefits.ledger_return(link, actor=actor, reason=reason)


def reenable(link: Any, *, actor: Any, case_ref: str, reason: str) -> Any:
    return benefits.link_replace_via_case(link, actor=actor, case_ref=case_ref, reason=reason)


def returned_grants(link: Any) -> list[Any]:
    """The grants returned from `link` that wait to be granted again (none re-granted yet)."""
    return list(
        Grant.objects.filter(link=link, status=GrantStatus.RETURNED, regranted_as__isnull=True)
        .select_related("programme")
        .order_by("pk")
    )


def regranted_grants(link: Any) -> list[Any]:
    """The grants made again from the grants returned from `link` (`ledger_regrant`)."""
    return list(
        Grant.objects.filter(regrant_of__link=link).select_related("link__provider").order_by("pk")
    )


def link_released(link: Any) -> bool:
    """Whether a case has re-enabled `link` already (`link_replace_via_case`: replaced)."""
    return str(link.status) == LinkStatus.REPLACED


def own_link(link: Any) -> PaymentLink | None:
    """The effective payment link the holder of `link` has in its programme now, other than
    `link` itself (at most one: a resident holds one link per programme), or None: after a case
    re-enabled the wrong one, the link the resident made at a desk with their own card."""
    return (
        PaymentLink.objects.filter(
            holder_id=link.holder_id, programme_id=link.programme_id, status=LinkStatus.EFFECTIVE
        )
        .exclude(pk=link.pk)
        .select_related("provider")
        .order_by("-pk")
        .first()
    )


def regrant(grant: Any, *, to_link: Any, actor: Any, reason: str) -> Any:
    return benefits.ledger_regrant(grant, to_link=to_link, actor=actor, reason=reason)


def registered_names(row: Any) -> tuple[str, str] | None:
    """The two names a registration (`registration`) recorded: (the account holder's kana as
    the outside system reported it, "" if it reported none; the kana the registration used for
    the resident, "" if it keeps none), for an insurance registration the insurer's kana of the
    insured person. None when there is no registration."""
    if row is None:
        return None
    if isinstance(row, HealthInsuranceRegistration):
        return (row.insured_name_kana, "")
    return (row.account_holder_kana, row.resident_kana)
