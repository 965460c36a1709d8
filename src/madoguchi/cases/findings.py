"""Automatic findings of a case's likely cause, read off the records.

`derive(evidence)` is pure: it turns what was gathered (the link, its completion, the audit
events of the visit that made it, the name check, the card number comparison, an old
terminal's session records) into findings, most likely cause first. `gather(case)` collects
that evidence from the database: for a case without a legacy link, from the signed link or
registration it is about (its point link, else the public-fund account or insurance
registration its page shows, `selectors.case_registration`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.desk.events import VISITS_CARD_REMOVED
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident

from .constants import Programme
from .selectors import case_registration, visit_trail


@dataclass(frozen=True)
class Finding:
    code: str
    ja: str
    en: str
    rank: int  # lower is a likelier cause
    evidence: tuple[str, ...] = ()
    prevention_ja: str = ""


@dataclass
class Evidence:
    signed: bool  # committed by a signed completion (False: a legacy link)
    signer_is_holder: bool | None = None
    visit_started_at: datetime | None = None
    committed_at: datetime | None = None
    card_removed_at: list[datetime] = field(default_factory=list)
    card_swapped: bool = False
    name_outcome: str = ""
    name_reason: str = ""
    close_confirmed: bool = False
    name_exception: str = ""
    comparison: str = ""  # same | different | ""
    programme: str = "points"  # the case's programme: what the comparison compared
    session_log: list[dict[str, Any]] = field(default_factory=list)
    audit_seqs: list[int] = field(default_factory=list)


# Each finding as a plain-form clause, for 「…ことが原因である可能性が高い」.
CAUSE_JA: dict[str, str] = {
    "session_not_closed": "前の方の対応の後にログアウトしないまま、次の方の手続きを行った",
    "committed_after_card_removed": "認証したカードが取り外された後に確定された",
    "unsigned_legacy": "カードの署名による確認なしに確定できた",
    "signed_by_other_card": "紐付け先の方とは別の方のカードで署名された",
    "card_swapped": "受付中に別のカードが置かれた",
    "name_no_match": "口座名義がご本人と一致していなかった",
    "exception_used": "法定代理人の口座の例外で紐付けられた",
    "name_close_confirmed": "口座名義が完全には一致しないまま、確認の上で紐付けられた",
    "identifier_differs": "ご本人のものではないカード番号が登録された",
    "account_differs": "ご本人のものではない口座が公金受取口座として登録された",
    "insured_differs": "ご本人のものではない健康保険の資格情報で利用登録された",
}

_PREVENT_SESSION = (
    "一人の対応が終わるたびに必ずログアウトし、次の方の手続きは次の方のマイナンバーカードで"
    "認証してから始める（システムで強制）。"
)
_PREVENT_SIGNED = (
    "紐付けを確定する前に、確定内容をご本人のマイナンバーカードで署名していただき、"
    "ログイン時と異なるカードでは確定できないようにする（署名付き確定）。"
)
_PREVENT_NAME = (
    "決済口座・金融機関口座の名義とカードの氏名を照合し、一致しない場合は紐付けない。"
    "近似一致はご本人の確認を記録する。"
)
_PREVENT_CARD = "カードが取り外された時点で受付を終了し、確定できないようにする。"


def wall_clock(at: datetime) -> datetime:
    """``at`` on Japan's clock, without a zone, as the records' other lines are: a line with
    a zone (``2022-08-10T01:25:00Z``, an export in UTC) was kept with it, and the case's page
    and reports then failed comparing it with the others (round 19)."""
    if at.tzinfo is None:
        return at
    return timezone.localtime(at).replace(tzinfo=None)


def _parse(value: Any) -> datetime | None:
    """A record's time on Japan's clock, without a zone (records stored with one before round
    19 are read so too)."""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return wall_clock(at)


def _session_findings(log: list[dict[str, Any]]) -> list[Finding]:
    """Read an old terminal's records: who was authenticated when the commit happened."""
    rows = sorted(
        ((t, r) for r in log if (t := _parse(r.get("at"))) is not None), key=lambda x: x[0]
    )
    committed = [(t, r) for t, r in rows if r.get("event") == "committed"]
    if not committed:
        return []
    at, commit_row = committed[-1]
    before = [(t, r) for t, r in rows if t <= at and r is not commit_row]
    out: list[Finding] = []
    # Residents whose card was read since the last login/logout, before the commit. A card
    # read after the previous card came off starts the next resident's turn: the visit before
    # ended with its card (a desk log the scan reads serves several residents per sign-in, each
    # from their card's reading to its removal), so only the residents read since count.
    served: list[str] = []
    removed_last = False
    for _, r in before:
        ev = r.get("event")
        if ev in ("login", "logout"):
            served = []
            removed_last = False
        elif ev == "card_read":
            if removed_last:
                served = []
            served.append(str(r.get("resident", "")))
            removed_last = False
        elif ev == "card_removed":
            removed_last = True
    committed_for = str(commit_row.get("resident", ""))
    if committed_for and served and committed_for not in served:
        served.append(committed_for)
    if len(set(served)) > 1:
        out.append(
            Finding(
                "session_not_closed",
                "前の方の対応の後にログアウトしないまま、次の方の手続きが確定されています。",
                "Committed in a session that served another resident before, without a logout.",
                10,
                tuple(f"{r.get('at')} {r.get('event')} {r.get('resident', '')}" for _, r in before),
                _PREVENT_SESSION,
            )
        )
    if removed_last:
        out.append(_after_card_removed((f"{at.isoformat()} committed after the card was removed",)))
    return out


def _after_card_removed(evidence: tuple[str, ...]) -> Finding:
    return Finding(
        "committed_after_card_removed",
        "認証したカードが取り外された後に確定されています。",
        "Committed after the authenticating card was removed.",
        20,
        evidence,
        _PREVENT_CARD,
    )


def derive(ev: Evidence) -> list[Finding]:
    """Findings, likeliest cause first."""
    out = [*_signature_findings(ev), *_name_findings(ev), *_comparison_findings(ev)]
    return sorted(out, key=lambda f: f.rank)


def _signature_findings(ev: Evidence) -> list[Finding]:
    """How it was committed: unsigned (with the old terminal's records), or signed, by whose
    card, and with which card on the reader."""
    out: list[Finding] = []
    if not ev.signed:
        out.append(
            Finding(
                "unsigned_legacy",
                "カードの署名なしに確定されています（署名付き確定の導入前の記録）。",
                "Committed without a card signature (record from before signed completion).",
                30,
                (),
                _PREVENT_SIGNED,
            )
        )
        out.extend(_session_findings(ev.session_log))
    else:
        if ev.signer_is_holder is False:
            out.append(
                Finding(
                    "signed_by_other_card",
                    "紐付け先の方とは別の方のカードで署名されています。",
                    "Signed by a card other than the linked resident's.",
                    5,
                    (),
                    _PREVENT_SIGNED,
                )
            )
        if ev.committed_at and any(
            (ev.visit_started_at is None or t >= ev.visit_started_at) and t <= ev.committed_at
            for t in ev.card_removed_at
        ):
            out.append(
                _after_card_removed(
                    tuple(f"card removed {t.isoformat()}" for t in ev.card_removed_at)
                )
            )
        if ev.card_swapped:
            out.append(
                Finding(
                    "card_swapped",
                    "受付中に別のカードが置かれています。",
                    "Another card was placed on the reader during the visit.",
                    25,
                    (),
                    _PREVENT_CARD,
                )
            )
    return out


def _name_findings(ev: Evidence) -> list[Finding]:
    """What the name check said, and whether an exception or a confirmation let it through."""
    out: list[Finding] = []
    if ev.name_outcome == "no_match":
        if ev.name_exception:
            out.append(
                Finding(
                    "exception_used",
                    "口座名義はご本人と一致せず、法定代理人の口座の例外で紐付けられています。",
                    "The account holder name did not match; linked under the legal "
                    "representative exception.",
                    40,
                    (f"reason {ev.name_reason}",),
                    _PREVENT_NAME,
                )
            )
        else:
            out.append(
                Finding(
                    "name_no_match",
                    "口座名義がご本人のお名前と一致していませんでした。",
                    "The account holder name did not match.",
                    15,
                    (f"reason {ev.name_reason}",),
                    _PREVENT_NAME,
                )
            )
    elif ev.name_outcome in ("close", "unavailable"):
        out.append(
            Finding(
                "name_close_confirmed",
                "口座名義は完全には一致せず（近似一致または名義不明）、確認の上で紐付けられています。",
                "The account holder name was a close match (or unavailable) and was confirmed.",
                45,
                (f"outcome {ev.name_outcome}, confirmed {ev.close_confirmed}",),
                _PREVENT_NAME,
            )
        )
    return out


# A different comparison, by what the case's programme compared: code, Japanese, English.
_DIFFERS: dict[str, tuple[str, str, str]] = {
    "points": (
        "identifier_differs",
        "ご本人が持参されたキャッシュレス決済のカード番号と、登録されている番号が異なります。",
        "The payment card number the resident presented differs from the linked one.",
    ),
    "public_fund": (
        "account_differs",
        "ご本人が持参された口座と、登録されている公金受取口座が異なります。",
        "The bank account the resident presented differs from the registered public-fund account.",
    ),
    "health_insurance": (
        "insured_differs",
        "ご本人が持参された健康保険の資格情報と、利用登録されている資格情報が異なります。",
        "The insurance details the resident presented differ from the registered ones.",
    ),
}


def _comparison_findings(ev: Evidence) -> list[Finding]:
    """What the resident brought says (a payment card, a bank account, insurance details)."""
    out: list[Finding] = []
    if ev.comparison == "different":
        code, ja, en = _DIFFERS.get(ev.programme, _DIFFERS["points"])
        out.append(Finding(code, ja, en, 50, ()))
    return out


def signed_subject(case: Any) -> Any:
    """What a case without a legacy link is about, committed by a signed completion: its point
    link, else the public-fund account or insurance registration it is about (the one its page
    shows); None when there is none, or when the case has a legacy link instead."""
    if case.legacy_link_id is not None:
        return None
    if case.payment_link_id is not None:
        return case.payment_link
    if str(case.programme) in (Programme.PUBLIC_FUND, Programme.HEALTH_INSURANCE):
        return case_registration(case)
    return None


def gather(case: Any, made: Any = None) -> Evidence:
    """The evidence for a case's link: `made`, the signed link or registration it is about
    (`signed_subject`, read by the caller; else read here), or its LegacyLink."""
    comparison = (
        case.timeline.exclude(comparison="")
        .order_by("-seq")
        .values_list("comparison", flat=True)
        .first()
        or ""
    )
    link = made if made is not None else signed_subject(case)
    if link is not None:
        completion = link.completion
        visit = link.visit
        removed = list(
            AuditEvent.objects.filter(
                event_name=VISITS_CARD_REMOVED.name,
                terminal_id=str(visit.terminal_id),
                time__gte=visit.started_at,
                time__lte=completion.committed_at,
            ).values_list("time", flat=True)
        )
        seqs = list(visit_trail(visit).values_list("seq", flat=True))
        return Evidence(
            signed=True,
            signer_is_holder=completion.certificate.holder_id == link.holder_id,
            visit_started_at=visit.started_at,
            committed_at=completion.committed_at,
            card_removed_at=removed,
            card_swapped=Incident.objects.filter(
                visit=visit, kind=IncidentKind.CARD_SWAPPED
            ).exists(),
            # An insurance registration keeps no name check of an account holder (blank).
            name_outcome=getattr(link, "name_outcome", ""),
            name_reason=getattr(link, "name_reason", ""),
            close_confirmed=getattr(link, "close_confirmed", False),
            name_exception=getattr(link, "name_exception", ""),
            comparison=comparison,
            programme=str(case.programme),
            audit_seqs=seqs,
        )
    legacy = case.legacy_link
    return Evidence(
        signed=False,
        comparison=comparison,
        programme=str(case.programme),
        session_log=list(legacy.session_log) if legacy is not None else [],
    )


def findings_for(case: Any) -> list[Finding]:
    """The case's findings, likeliest cause first; none while it is about no link yet."""
    made = signed_subject(case)
    if made is None and case.legacy_link_id is None:
        return []
    return derive(gather(case, made))
