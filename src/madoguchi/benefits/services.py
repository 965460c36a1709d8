"""Benefits: programmes, the name check at the desk, links and their remediation, grants and
payouts. Procedures (procedures.py) call into this module; so do the cases pages.

Public entry points (the desk pages and the cases engineer call these):

- representative_challenge(desk_session) / representative_authenticate(desk_session, token, nonce, ...)
- link_suspend(link, *, actor, reason) / link_replace_via_case(link, *, actor, case_ref, reason)
- ledger_suspend_link(link, *, actor, reason) / ledger_return(link, *, actor, reason)
- ledger_regrant(grant, *, to_link, actor, reason)
- card_acquisition_grant(link, *, charged_yen, source_ref, actor)
- payout_batch_create(provider, programme) / payout_batch_send(batch)
- identifiers.identifier_matches(presented, stored_hash)
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk.models import Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.desk.services import visit_current
from madoguchi.identity import services as identity
from madoguchi.identity.constants import NoncePurpose
from madoguchi.identity.models import Holder, Nonce
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.namecheck.check import check as name_check
from madoguchi.namecheck.reasons import Outcome
from madoguchi.outside import OutsideError
from madoguchi.outside import PayoutItem as OutsidePayoutItem
from madoguchi.refusals import ByLanguage, Refusal
from madoguchi.terminals.models import DeskSession

from . import ledger, outside
from .constants import (
    MINOR_AGE,
    AccountKind,
    BatchStatus,
    CategoryKind,
    GrantStatus,
    KanaSource,
    LinkStatus,
    NameException,
    Relationship,
    Trigger,
)
from .events import (
    BENEFITS_LINK_REPLACED,
    BENEFITS_LINK_SUSPENDED,
    BENEFITS_PAYOUT_SENT,
    BENEFITS_PROGRAMME_VERSION_CREATED,
    BENEFITS_REPRESENTATIVE_AUTHENTICATED,
)
from .models import (
    Grant,
    HealthInsuranceRegistration,
    PaymentLink,
    PayoutBatch,
    PayoutItem,
    Programme,
    ProgrammeVersion,
    Provider,
    PublicFundAccount,
    VisitRepresentative,
)
from .readings import certified_readings


class BenefitsRefused(Refusal):
    """A refused benefits operation."""

    code = "benefits_refused"
    status = 409


# --- programmes ------------------------------------------------------------------------------


def validate_categories(categories: Any) -> list[str]:
    """Problems with a version's categories (empty list if none)."""
    problems: list[str] = []
    if not isinstance(categories, list) or not categories:
        return ["categories must be a non-empty list"]
    codes = set()
    for c in categories:
        if not isinstance(c, dict) or not c.get("code") or not c.get("label_ja"):
            problems.append("each category needs a code and a label_ja")
            continue
        if c["code"] in codes:
            problems.append(f"category {c['code']} appears twice")
        codes.add(c["code"])
        if c.get("trigger") not in Trigger.values:
            problems.append(f"category {c['code']}: unknown trigger {c.get('trigger')!r}")
        if c.get("kind") == CategoryKind.FIXED:
            if not isinstance(c.get("points"), int) or c["points"] <= 0:
                problems.append(f"category {c['code']}: points must be a positive integer")
        elif c.get("kind") == CategoryKind.RATE:
            if (
                not isinstance(c.get("rate_percent"), int | float)
                or not 0 < c["rate_percent"] <= 100
            ):
                problems.append(f"category {c['code']}: rate_percent must be in (0, 100]")
            if not isinstance(c.get("cap"), int) or c["cap"] <= 0:
                problems.append(f"category {c['code']}: cap must be a positive integer")
        else:
            problems.append(f"category {c['code']}: kind must be fixed or rate")
    return problems


def programme_version_create(
    programme: Programme,
    *,
    name_ja: str,
    opens_at: datetime,
    closes_at: datetime,
    categories: list[dict[str, Any]],
    name_en: str = "",
    note: str = "",
    actor: Any = None,
) -> ProgrammeVersion:
    """A new version of a programme's terms (versions are never edited)."""
    problems = validate_categories(categories)
    if closes_at <= opens_at:
        problems.append("applications must close after they open")
    if problems:
        raise BenefitsRefused(
            "programme_invalid",
            _("The programme's settings are not valid: %(problems)s"),
            params={"problems": "; ".join(problems)},
            status=400,
        )
    with transaction.atomic():
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        last = locked.versions.order_by("-number").first()
        version = ProgrammeVersion.objects.create(
            programme=locked,
            number=(last.number + 1) if last else 1,
            name_ja=name_ja,
            name_en=name_en,
            opens_at=opens_at,
            closes_at=closes_at,
            categories=categories,
            note=note,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            BENEFITS_PROGRAMME_VERSION_CREATED,
            actor=actor,
            subject=version,
            payload={"programme": programme.code, "version": version.number},
        )
    return version


def category_points_text(category: dict[str, Any]) -> str:
    if category["kind"] == CategoryKind.RATE:
        return f"{category['label_ja']}: 決済額の{category['rate_percent']}%（上限{category['cap']:,}ポイント）"
    return f"{category['label_ja']}: {category['points']:,}ポイント"


# --- name check --------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    return value is True or value in ("true", "on", "1", 1)


def resident_kana(visit: Visit, fields: dict[str, Any]) -> tuple[str, KanaSource]:
    """The resident's kana: the certified reading if an adapter has one, else their own entry,
    which they must have confirmed on screen."""
    readings = certified_readings()
    if readings is not None:
        reading = readings.reading_for(visit.certificate)
        if reading:
            return reading, KanaSource.CERTIFIED
    entered = str(fields.get("resident_kana", "")).strip()
    if not entered:
        raise ProcedureInvalid(
            "resident_kana_required",
            _("The resident's kana name is required."),
            field="resident_kana",
        )
    if not _truthy(fields.get("resident_kana_confirmed")):
        raise ProcedureInvalid(
            "resident_kana_unconfirmed",
            _("The resident must confirm the kana name on screen."),
            field="resident_kana_confirmed",
        )
    return entered[:100], KanaSource.RESIDENT_ENTRY


def _is_minor(fields: dict[str, Any]) -> bool:
    raw = str(fields.get("resident_birth_date", "")).strip()
    try:
        born = date.fromisoformat(raw)
    except ValueError:
        return False
    today = timezone.localdate()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return 0 <= age < MINOR_AGE


def _show(name: str | None) -> str:
    return name if name else "（口座名義を取得できません）"


def name_decide(
    visit: Visit,
    *,
    kana: str,
    kana_source: KanaSource,
    account_kana: str | None,
    fields: dict[str, Any],
    what: dict[str, Any],
) -> dict[str, Any]:
    """Run the name check and apply the desk's rules. Returns the fields to sign and write.

    match: goes ahead; close / unavailable: needs `confirm_close_match: true` (the resident saw
    the account's name); no_match: refused (incident NAME_CHECK), except for a minor using a
    legal representative's account (`use_representative_exception: true`, the resident's birth
    date, and the representative authenticated in this visit with their own card).
    """
    result = name_check(kana, account_kana)
    confirm = _truthy(fields.get("confirm_close_match"))
    out: dict[str, Any] = {
        "resident_kana": kana,
        "kana_source": str(kana_source),
        "account_holder_kana": account_kana or "",
        "name_outcome": str(result.outcome),
        "name_reason": str(result.reason),
        "name_score": round(result.score),
        "close_confirmed": False,
        "name_exception": "",
        "representative": None,
        "representative_outcome": "",
        "representative_reason": "",
    }
    checked = result
    if result.outcome is Outcome.NO_MATCH:
        if not _truthy(fields.get("use_representative_exception")):
            incident_record(
                kind=IncidentKind.NAME_CHECK,
                reason_code=str(result.reason),
                severity=Severity.MEDIUM,
                summary=f"Name check: no match ({result.reason}); nothing was linked.",
                visit=visit,
                terminal=visit.terminal,
                staff=visit.staff,
                detail={
                    **what,
                    "outcome": str(result.outcome),
                    "reason": str(result.reason),
                    "score": round(result.score, 1),
                },
            )
            raise ProcedureInvalid(
                "name_no_match",
                _(
                    "The account holder's name does not match the resident's; nothing was "
                    "linked. %(reason)s"
                ),
                field="account",
                params={"reason": ByLanguage(result.reason_text("ja"), result.reason_text("en"))},
            )
        if not _is_minor(fields):
            raise ProcedureInvalid(
                "exception_not_minor",
                _("The representative exception applies only to a minor."),
                field="resident_birth_date",
            )
        rep = (
            VisitRepresentative.objects.filter(visit=visit)
            .select_related("certificate")
            .order_by("-authenticated_at")
            .first()
        )
        if rep is None:
            raise ProcedureInvalid(
                "representative_required",
                _("The legal representative must authenticate with their own card in this visit."),
                field="representative",
            )
        checked = name_check(rep.kana, account_kana)
        out.update(
            name_exception=str(NameException.MINOR_REPRESENTATIVE),
            representative=rep.pk,
            representative_fingerprint=rep.certificate.fingerprint,
            representative_outcome=str(checked.outcome),
            representative_reason=str(checked.reason),
        )
        if checked.outcome is Outcome.NO_MATCH:
            incident_record(
                kind=IncidentKind.NAME_CHECK,
                reason_code=f"representative_{checked.reason}",
                severity=Severity.MEDIUM,
                summary="Name check: the account matches neither the minor nor the "
                "representative; nothing was linked.",
                visit=visit,
                terminal=visit.terminal,
                staff=visit.staff,
                detail={**what, "reason": str(checked.reason)},
            )
            raise ProcedureInvalid(
                "name_no_match",
                _("The account holder's name matches neither the minor nor the representative."),
                field="account",
            )
    if checked.outcome in (Outcome.CLOSE, Outcome.UNAVAILABLE):
        if not confirm:
            raise ProcedureInvalid(
                "name_close_unconfirmed",
                _(
                    "The account holder's name “%(name)s” does not fully match the "
                    "resident's (%(outcome)s). %(reason)s Ask the resident to confirm that "
                    "this is their own account."
                ),
                field="confirm_close_match",
                params={
                    "name": ByLanguage(
                        _show(account_kana), account_kana or "(the account's name is not available)"
                    ),
                    "outcome": ByLanguage(checked.outcome_text("ja"), checked.outcome_text("en")),
                    "reason": ByLanguage(checked.reason_text("ja"), checked.reason_text("en")),
                },
            )
        out["close_confirmed"] = True
    return out


def name_fields_for_row(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "resident_kana": f["resident_kana"],
        "kana_source": f["kana_source"],
        "account_holder_kana": f["account_holder_kana"],
        "name_outcome": f["name_outcome"],
        "name_reason": f["name_reason"],
        "name_score": f["name_score"],
        "close_confirmed": f["close_confirmed"],
        "name_exception": f["name_exception"],
        "representative_id": f["representative"],
        "representative_outcome": f["representative_outcome"],
        "representative_reason": f["representative_reason"],
    }


def outside_failure(
    visit: Visit, exc: OutsideError, what: dict[str, Any], field: str
) -> ProcedureInvalid:
    """Record an OUTSIDE_FAILURE incident; the ProcedureInvalid to raise (staff's message)."""
    incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code=exc.code,
        severity=Severity.LOW,
        summary=f"{exc.message_en}",
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={**what, "code": exc.code, "status": exc.status, "attempts": exc.attempts},
    )
    return ProcedureInvalid.carrying(exc.code, ja=exc.message_ja, en=exc.message_en, field=field)


# --- the legal representative ------------------------------------------------------------------


def representative_challenge(desk_session: DeskSession) -> Nonce:
    """A fresh authentication nonce for the representative's own card."""
    return identity.nonce_issue(purpose=NoncePurpose.AUTHENTICATION, desk_session=desk_session)


def representative_authenticate(
    desk_session: DeskSession,
    token: str,
    nonce: str,
    *,
    relationship: str = Relationship.PARENT,
    kana: str = "",
    kana_confirmed: bool = False,
) -> VisitRepresentative:
    """The legal representative authenticates with their own card in the resident's visit."""
    visit = visit_current(desk_session=desk_session)
    if visit is None:
        raise BenefitsRefused(
            "no_open_visit",
            _("There is no open visit."),
        )
    if relationship not in Relationship.values:
        raise BenefitsRefused("relationship_invalid", _("Unknown relationship."))
    cert = identity.authenticate(token=token, nonce_value=nonce, desk_session=desk_session)
    if cert.holder_id == visit.holder_id:
        raise BenefitsRefused(
            "representative_is_resident",
            _("The representative must use their own card, not the resident's."),
        )
    readings = certified_readings()
    reading = readings.reading_for(cert) if readings is not None else None
    if reading:
        rep_kana, source = reading, KanaSource.CERTIFIED
    else:
        rep_kana, source = kana.strip(), KanaSource.RESIDENT_ENTRY
        if not rep_kana or not kana_confirmed:
            raise BenefitsRefused(
                "representative_kana_required",
                _("The representative's kana name is required and must be confirmed."),
            )
    with transaction.atomic():
        rep = VisitRepresentative.objects.create(
            visit=visit,
            certificate=cert,
            relationship=relationship,
            kana=rep_kana[:100],
            kana_source=source,
            authenticated_at=timezone.now(),
        )
        audit.record(
            BENEFITS_REPRESENTATIVE_AUTHENTICATED,
            actor=desk_session.staff,
            terminal=desk_session.terminal,
            subject=rep,
            payload={
                "visit": visit.reference,
                "certificate": cert.fingerprint,
                "relationship": relationship,
            },
        )
    return rep


# --- grants ------------------------------------------------------------------------------------


def _trigger_met(holder: Holder, trigger: str) -> bool:
    if trigger == Trigger.APPLICATION:
        return True
    if trigger == Trigger.HEALTH_INSURANCE:
        return HealthInsuranceRegistration.objects.filter(
            holder=holder, status=LinkStatus.EFFECTIVE
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
        raise BenefitsRefused("link_not_effective", _("The link is not effective."))
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


# --- remediation (called by cases) -------------------------------------------------------------


def ledger_suspend_link(link: PaymentLink, *, actor: Any, reason: str) -> Any:
    """Park the unpaid points of the link's resident (suspension entries)."""
    with transaction.atomic():
        return ledger.suspend_link_points(link, actor=actor, reason=reason)


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


def provider_suspend_account(link: PaymentLink, *, reason: str) -> None:
    """Ask the provider to suspend the linked account too (idempotent per link)."""
    adapter = outside.systems().providers.get(link.provider.code)
    adapter.suspend(
        link.account_ref, reason=reason, idempotency_key=f"madoguchi-suspend:{link.public_id}"
    )


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


# --- payouts -----------------------------------------------------------------------------------


def payout_batch_create(provider: Provider, programme: Programme) -> PayoutBatch | None:
    """A batch of what is due to the residents linked to this provider (None if nothing is).
    Links already in an unaccepted batch are left out, so nothing is sent twice."""
    with transaction.atomic():
        pending_links = set(
            PayoutItem.objects.filter(batch__status=BatchStatus.OPEN).values_list(
                "link_id", flat=True
            )
        )
        items = []
        for link in PaymentLink.objects.filter(
            provider=provider, programme=programme, status=LinkStatus.EFFECTIVE
        ).select_related("holder"):
            if link.pk in pending_links:
                continue
            due = ledger.balance(ledger.account(AccountKind.DUE, programme, holder=link.holder))
            if due > 0:
                items.append((link, due))
        if not items:
            return None
        batch_id = uuid.uuid4().hex
        batch = PayoutBatch.objects.create(
            batch_id=batch_id,
            idempotency_key=f"payout:{batch_id}",
            provider=provider,
            programme=programme,
        )
        PayoutItem.objects.bulk_create(
            [
                PayoutItem(batch=batch, item_id=f"{n:05d}", link=link, points=pts)
                for n, (link, pts) in enumerate(items, 1)
            ]
        )
    return batch


def payout_batch_send(batch: PayoutBatch, *, actor: Any = None) -> PayoutBatch:
    """Send a batch (again, if need be: the provider answers a repeat with its first answer)
    and post a payout transfer for each paid item, once."""
    items = list(batch.items.select_related("link", "link__holder").order_by("item_id"))
    adapter = outside.systems().providers.get(batch.provider.code)
    try:
        result = adapter.payout(
            batch.batch_id,
            [
                OutsidePayoutItem(
                    item_id=i.item_id, account_ref=i.link.account_ref, points=i.points
                )
                for i in items
            ],
            idempotency_key=batch.idempotency_key,
        )
    except OutsideError as exc:
        incident_record(
            kind=IncidentKind.OUTSIDE_FAILURE,
            reason_code=exc.code,
            severity=Severity.MEDIUM,
            summary=f"Payout batch {batch.batch_id} not accepted: {exc.message_en}",
            detail={"batch": batch.batch_id, "provider": batch.provider.code, "code": exc.code},
        )
        raise BenefitsRefused.carrying(
            exc.code, ja=exc.message_ja, en=exc.message_en, status=502
        ) from exc
    by_id = {r.item_id: r for r in result.items}
    with transaction.atomic():
        locked = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
        paid_total = 0
        for item in items:
            r = by_id.get(item.item_id)
            if r is None:
                continue
            PayoutItem.objects.filter(pk=item.pk).update(
                result=str(r.status), reason=r.reason or ""
            )
            if str(r.status) != "paid":
                continue
            ledger.post_payout(
                item.link,
                item.points,
                batch_id=locked.batch_id,
                item_id=item.item_id,
                batch=locked,
                actor=actor,
            )
            paid_total += item.points
        if locked.status != BatchStatus.ACCEPTED:
            locked.status = BatchStatus.ACCEPTED
            locked.payout_ref = result.payout_ref
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["status", "payout_ref", "accepted_at"])
            audit.record(
                BENEFITS_PAYOUT_SENT,
                actor=actor,
                subject=locked,
                payload={
                    "provider": locked.provider.code,
                    "batch": locked.batch_id,
                    "points": paid_total,
                },
            )
    return locked
