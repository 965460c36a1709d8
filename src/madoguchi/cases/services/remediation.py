"""The remedy's steps through benefits: suspending the link or registration, returning the
points, recording the correction, re-enabling and re-granting. Each locks the case first, then
benefits' rows, and records its audit events last."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User

from .. import remedy, selectors
from ..constants import CaseStatus, EntryKind, Programme
from ..models import Case, TimelineEntry
from .access import CaseRefused, require_official
from .transitions import _lock_for_step, case_transition


def case_suspend(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    """Suspend the link (its grants are frozen by benefits) and record the step together."""
    require_official(actor)
    with transaction.atomic():
        # Row locks first (the case, then benefits' rows), audit events last.
        _lock_for_step(case, EntryKind.SUSPENSION)
        reason = f"{case.reference}: {summary}"
        detail: dict[str, Any] = {}
        if Programme(case.programme) == Programme.PUBLIC_FUND:
            summary, detail = _public_fund_suspend(
                case, actor=actor, summary=summary, reason=reason
            )
        elif Programme(case.programme) == Programme.HEALTH_INSURANCE:
            summary, detail = _insurance_suspend(case, actor=actor, summary=summary, reason=reason)
        elif case.payment_link is not None:
            remedy.suspend(case.payment_link, actor=actor, reason=reason)
        entry = case_transition(
            case, actor=actor, kind=EntryKind.SUSPENSION, summary=summary, detail=detail, **when
        )
    return entry


# Said in an insurance case's suspension entry: what was asked of the insurer, or why nothing
# could be (the timeline is the city's Japanese record; the page shows it as written).
_INSURER_ASKED_JA = (
    "保険者へ、誤った健康保険証の利用登録の利用停止（取消）を依頼しました。"
    "保険者の回答は、このケースのページに表示されます。"
)
_NO_INSURANCE_REGISTRATION_JA = (
    "この事案の健康保険証の利用登録は、本システムで保険者に登録済みのものとして特定できないため、"
    "保険者へ利用停止を依頼していません（保険者へ電話または文書で停止を依頼し、その内容を"
    "メモとして記録してください）。"
)


def _insurance_suspend(
    case: Case, *, actor: User, summary: str, reason: str
) -> tuple[str, dict[str, Any]]:
    """Ask the insurer, through the outbox, to cancel the registration the case is about (made
    before the case was opened, still effective, registered at the insurer). The call is sent
    after the step commits; the case page shows the insurer's answer."""
    about = selectors.case_registration(case)
    if not remedy.insurance_suspendable(about):
        return f"{summary}\n{_NO_INSURANCE_REGISTRATION_JA}", {
            "health_insurance_registration": None
        }
    call = remedy.insurance_suspend(about, actor=actor, case_ref=case.reference, reason=reason)
    return f"{summary}\n{_INSURER_ASKED_JA}", {
        "health_insurance_registration": about.pk,
        "outside_call": call.key,
    }


# Said in the step's entry when this system holds no registration the case can act on (the
# timeline is the city's Japanese record; the page shows it as written).
_NO_REGISTRATION_JA = (
    "この事案の公金受取口座の登録は本システムで特定できないため、登録の状態は変更していません"
    "（デジタル庁の登録は、マイナポータルまたは国の窓口で確認してください）。"
)


def _public_fund_suspend(
    case: Case, *, actor: User, summary: str, reason: str
) -> tuple[str, dict[str, Any]]:
    """Suspend the public-fund account registration the case is about, while it is effective:
    the legacy link's account's registration, else the one the case is about
    (`selectors.case_registration`: made before the case was opened), with
    the step's `reason` (the case's reference and summary, as a point link's suspension)."""
    legacy_hash = case.legacy_link.account_hash if case.legacy_link is not None else ""
    holder = case.holder
    if holder is None and case.legacy_link is not None:
        holder = case.legacy_link.holder
    if not legacy_hash and holder is not None:
        # The registration the case is about (made before it was opened), only while it is
        # still effective: never the resident's own account registered again since.
        about = selectors.case_registration(case)
        if about is None:
            return f"{summary}\n{_NO_REGISTRATION_JA}", {"public_fund_account": None}
        legacy_hash = remedy.registered_hash(about)
        # Its own resident's: a legal representative's report of a minor's account made into
        # their own is about the minor's registration, never the representative's own of the
        # same account.
        holder = about.holder
    account = remedy.public_fund_registration(holder, legacy_hash)
    if account is None:
        return f"{summary}\n{_NO_REGISTRATION_JA}", {"public_fund_account": None}
    remedy.public_fund_suspend(account, actor=actor, reason=reason)
    return summary, {"public_fund_account": account.pk}


def _suspended_public_fund(case: Case) -> Any:
    """The registration this case's suspension step suspended (None if it found none)."""
    for entry in case.timeline.filter(kind=EntryKind.SUSPENSION).order_by("-seq"):
        pk = (entry.detail or {}).get("public_fund_account")
        if pk is not None:
            return remedy.public_fund_by_pk(pk)
    return None


def _public_fund_release(case: Case, *, actor: User, summary: str) -> tuple[str, dict[str, Any]]:
    """Release the registration this case's suspension step suspended (the counterpart of
    `_public_fund_suspend`): the entry's summary and detail."""
    account = _suspended_public_fund(case)
    if account is None:
        return f"{summary}\n{_NO_REGISTRATION_JA}", {"public_fund_account": None}
    remedy.public_fund_release(account, actor=actor, case_ref=case.reference, reason=summary)
    return summary, {"public_fund_account": account.pk}


def case_return_points(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    """Return the points from the wrong account (ledger reversal entries, by benefits)."""
    require_official(actor)
    with transaction.atomic():
        # Row locks first (the case, then benefits' rows), audit events last.
        _lock_for_step(case, EntryKind.POINT_RETURN)
        if case.payment_link is not None:
            remedy.return_points(
                case.payment_link, actor=actor, reason=f"{case.reference}: {summary}"
            )
        entry = case_transition(
            case, actor=actor, kind=EntryKind.POINT_RETURN, summary=summary, **when
        )
    return entry


def case_correct(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    """Record the correction of the wrong registration (a public-fund account's or an
    insurance registration's) made with the national system or the insurer: the step these
    programmes take instead of returning points."""
    return case_transition(case, actor=actor, kind=EntryKind.CORRECTION, summary=summary, **when)


def case_reenable(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    """Release the wrong link so the right resident can apply again with their own card."""
    require_official(actor)
    with transaction.atomic():
        # Row locks first (the case, then benefits' rows), audit events last.
        _lock_for_step(case, EntryKind.REENABLE)
        detail: dict[str, Any] = {}
        if Programme(case.programme) == Programme.PUBLIC_FUND:
            summary, detail = _public_fund_release(case, actor=actor, summary=summary)
        elif case.payment_link is not None:
            remedy.reenable(case.payment_link, actor=actor, case_ref=case.reference, reason=summary)
        entry = case_transition(
            case, actor=actor, kind=EntryKind.REENABLE, summary=summary, detail=detail, **when
        )
    return entry


def case_regrant(
    case: Case, *, actor: User, to_link: Any, summary: str = "", **when: Any
) -> TimelineEntry:
    """Grant the returned points again to the right resident's own new link (made at a desk
    with their card after re-enabling). Recorded as a note in the re-enabled stage or later."""
    require_official(actor)
    wrong = case.payment_link
    if wrong is None or to_link.holder_id != wrong.holder_id or to_link.pk == wrong.pk:
        raise CaseRefused(
            "regrant_target_invalid",
            _("Re-grant only to the resident's own new link."),
        )
    if case.status not in (CaseStatus.REENABLED, CaseStatus.NOTIFIED):
        raise CaseRefused(
            "transition_not_allowed",
            _("Re-grant after the application was re-enabled."),
        )
    with transaction.atomic():
        # Row locks first (the case, then benefits' rows), audit events last.
        _lock_for_step(case, EntryKind.NOTE)
        grants = remedy.returned_grants(wrong)
        done = [
            remedy.regrant(g, to_link=to_link, actor=actor, reason=case.reference) for g in grants
        ]
        return case_transition(
            case,
            actor=actor,
            kind=EntryKind.NOTE,
            summary=summary
            or f"返還されたポイント（{sum(g.points for g in done)} ポイント）をご本人の決済サービスに再付与しました。",
            detail={"regranted": [g.pk for g in done], "to_link": str(to_link.public_id)},
            **when,
        )
