"""The remedy's steps through benefits: suspending the link or registration, returning the
points, recording the correction, re-enabling and re-granting. Each locks the case first, then
benefits' rows, and records its audit events last."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.plaintext import blank
from madoguchi.refusals import ByLanguage

from .. import remedy, selectors
from .. import text as case_text
from ..constants import CaseStatus, EntryKind, Programme
from ..models import Case, TimelineEntry
from .access import CaseRefused, require_official
from .transitions import _lock_for_step, case_transition, step_allowed


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

_INSURER_REF_DIFFERS_JA = (
    "保険者は、この利用登録の依頼を本システムが記録した参照番号とは別の参照番号で保持しています"
    "（外部システムとの突合で見つかりました）。本システムの参照番号で利用停止を依頼すると別の方の"
    "登録を取り消すおそれがあるため、保険者へ利用停止を依頼していません（保険者へ電話または文書で"
    "確認のうえ停止を依頼し、その内容をメモとして記録してください）。"
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
    if remedy.insurance_ref_disputed(about):  # reconcile's `registration_ref_differs`
        return f"{summary}\n{_INSURER_REF_DIFFERS_JA}", {"health_insurance_registration": None}
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


# Why the returned points cannot be granted again now (`regrant_refusal`), the case page saying
# it in the step's place and the step refusing with it.
_REGRANT_NOT_FOR_CASE = _(
    "This case has no points in madoguchi's ledger to grant again: it is not about a payment "
    "service link made in madoguchi. A legacy link's points are granted again by the payment "
    "provider: record what it did as a note."
)
_REGRANT_NOT_NOW = _(
    "The returned points can be granted again only once the resident's application has been "
    "re-enabled, and before the case is closed (on a later case about a link an earlier case "
    "already re-enabled, while investigating)."
)
_NOTHING_RETURNED = _("No points were returned from this link, so there is nothing to grant again.")
_ALREADY_REGRANTED = _(
    "The points returned from this link have already been granted again to the resident "
    "(%(points)s points): there is nothing left to grant again."
)
_NO_OWN_LINK = _(
    "The resident has not linked their own payment service in this programme yet (they have no "
    "effective link). Once they have applied at a desk with their own My Number card, grant the "
    "points again here."
)


def link_words(link: Any) -> ByLanguage:
    """A payment link as the page and the refusals name it: the service and the masked
    account, in each language."""
    ja = link.provider.display_name_ja
    en = link.provider.display_name_en or ja
    return ByLanguage(f"{ja} {link.masked_account}", f"{en} {link.masked_account}")


def regrant_refusal(
    state: selectors.Regrant | None, current: CaseStatus | str | None = None
) -> CaseRefused | None:
    """Why the returned points cannot be granted again (the case's `regrant_state`, its status
    `current`), or None when they can: the case has no ledger points, it is investigating a
    link no case has re-enabled yet (the suspension, return and re-enabling come first), none
    were returned, they were granted again already, or the resident has no effective link of
    their own yet.

    While investigating, the re-grant is a later case's, about a link an earlier case already
    re-enabled and closed before the resident linked again (the points left in funding): the
    one thing left to do, with no suspension, return or re-enabling possible on that link."""
    if state is None:
        return CaseRefused("regrant_not_for_case", _REGRANT_NOT_FOR_CASE)
    investigating = current is not None and CaseStatus(current) == CaseStatus.INVESTIGATION
    if investigating and not state.released:
        return CaseRefused("transition_not_allowed", _REGRANT_NOT_NOW)
    if not state.waiting and state.regranted:
        return CaseRefused(
            "already_regranted", _ALREADY_REGRANTED, params={"points": state.regranted_points}
        )
    if not state.waiting:
        return CaseRefused("regrant_nothing_returned", _NOTHING_RETURNED)
    if state.target is None:
        return CaseRefused("regrant_no_link", _NO_OWN_LINK)
    return None


def regrant_ready(case: Case) -> selectors.Regrant:
    """What the re-grant step would grant now, and to which link (`selectors.Regrant`), or its
    refusal (`regrant_not_for_case`, `transition_not_allowed`, `already_regranted`,
    `regrant_nothing_returned`, `regrant_no_link`): `madoguchi case regrant` shows it before the
    official confirms; the step itself checks it again under the case's lock."""
    if Programme(case.programme) != Programme.POINTS or case.payment_link is None:
        raise CaseRefused("regrant_not_for_case", _REGRANT_NOT_FOR_CASE)
    if not step_allowed(EntryKind.REGRANT, CaseStatus(case.status), case.programme):
        raise CaseRefused("transition_not_allowed", _REGRANT_NOT_NOW)
    state = selectors.regrant_state(case)
    refused = regrant_refusal(state, case.status)
    if refused is not None:
        raise refused
    assert state is not None  # refused above otherwise
    return state


def case_regrant(
    case: Case, *, actor: User, to_link: Any = None, summary: str = "", **when: Any
) -> TimelineEntry:
    """Grant the points returned from the case's wrong link again to the resident's own link
    (made at a desk with their card after re-enabling; `to_link`, else the resident's effective
    link in the programme). A step of its own (`EntryKind.REGRANT`) in the re-enabled or
    notified stage; the page and `madoguchi case regrant` ask the official to confirm it. Each
    returned grant is granted again once: a second re-grant is refused `already_regranted`
    (the case's lock, then each grant's, `benefits.ledger_regrant`)."""
    require_official(actor)
    wrong = case.payment_link
    if to_link is not None and (
        wrong is None or to_link.holder_id != wrong.holder_id or to_link.pk == wrong.pk
    ):
        raise CaseRefused(
            "regrant_target_invalid",
            _("Re-grant only to the resident's own new link."),
        )
    if Programme(case.programme) != Programme.POINTS or wrong is None:
        raise CaseRefused("regrant_not_for_case", _REGRANT_NOT_FOR_CASE)
    with transaction.atomic():
        # Row locks first (the case, then benefits' rows), audit events last.
        try:
            locked, _last, current, _to = _lock_for_step(case, EntryKind.REGRANT)
        except CaseRefused as exc:
            if exc.code != "transition_not_allowed":
                raise
            raise CaseRefused("transition_not_allowed", _REGRANT_NOT_NOW) from exc
        # Read under the case's lock: a second official's re-grant sent at the same moment
        # waits for it, then finds the grants re-granted (`already_regranted`).
        state = selectors.regrant_state(locked)
        refused = regrant_refusal(state, current)
        if refused is not None:
            raise refused
        assert state is not None  # refused above otherwise
        target = to_link if to_link is not None else state.target
        done = [
            remedy.regrant(g, to_link=target, actor=actor, reason=case.reference)
            for g in state.waiting
        ]
        points = sum(g.points for g in done)
        words = link_words(target)
        # The summary names no payment service and no digits of the account: the city's
        # published report copies each entry's summary, and no other step's puts the
        # resident's account there (the letter to the resident names it, from `link_label`).
        text = case_text.neutral(case_text.REGRANT_SUMMARY, points=points)
        default = (
            f"誤った紐付けから返還された {points} ポイントを、ご本人がご自身で申し込んだ"
            "決済サービスに再付与しました。"
        )
        detail: dict[str, Any] = {
            "regranted": [g.pk for g in done],
            "to_link": str(target.public_id),
            "points": points,
            # The link as the resident's letter names it (residents.notices).
            "link_label": case_text.by_language(ja=words.ja, en=words.en),
        }
        if blank(summary):
            summary = default
            detail["text"] = {"summary": text}
        else:
            summary = f"{default}\n{summary}"
        return case_transition(
            case, actor=actor, kind=EntryKind.REGRANT, summary=summary, detail=detail, **when
        )
