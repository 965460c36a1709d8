"""Remediation case steps. Every step is one appended timeline entry, checked against the one
transition table by `case_transition`, with its audit event in the same transaction.

City officials run cases; contractor staff (desk staff, supervisors) may only open an intake.

Over 400 lines on purpose: one function per step of the one transition table, each short, kept
together so the whole workflow reads in one place."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.audit import services as audit
from madoguchi.locks import key_lock
from madoguchi.namecheck import check as name_check
from madoguchi.refusals import Refusal

from . import findings, remedy, selectors, text
from .constants import (
    ALLOWED_TRANSITIONS,
    ENTRY_TARGETS,
    REPAIR_STEP,
    STAGE_OPENERS,
    CaseStatus,
    Channel,
    ComparisonResult,
    DatePrecision,
    EntryKind,
    Party,
    Programme,
)
from .events import (
    CASES_LEGACY_LINK_ADDED,
    CASES_LEGACY_LINK_ATTACHED,
    CASES_OPENED,
    CASES_REPORT_EDITED,
    CASES_STEP,
)
from .models import Case, LegacyLink, TimelineEntry

INTAKE_ROLES = (Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL)
# A case's title when the intake gives none, by what the link was made for.
INTAKE_TITLES = {
    Programme.POINTS: "支援窓口におけるマイナポイントの誤付与の申し出",
    Programme.PUBLIC_FUND: "支援窓口における公金受取口座の誤登録の申し出",
    Programme.HEALTH_INSURANCE: "支援窓口における健康保険証利用登録の誤りの申し出",
}
INTAKE_TITLE_TEXTS = {
    Programme.POINTS: text.INTAKE_TITLE_POINTS,
    Programme.PUBLIC_FUND: text.INTAKE_TITLE_PUBLIC_FUND,
    Programme.HEALTH_INSURANCE: text.INTAKE_TITLE_HEALTH_INSURANCE,
}


class CaseRefused(Refusal):
    """A refused case step."""

    code = "case_refused"
    status = 409


def can_open(user: Any) -> bool:
    return bool(user.is_superuser or any(user.has_role(r) for r in INTAKE_ROLES))


def _require_can_open(actor: User) -> None:
    if not can_open(actor):
        raise CaseRefused(
            "not_allowed_to_open",
            _(
                "Only desk staff, contractor supervisors and city officials open cases; your "
                "role is none of these."
            ),
        )


def incident_has_case(case: Case) -> CaseRefused:
    """The refusal of a second case from an incident, naming the first."""
    return CaseRefused(
        "incident_has_case",
        _(
            "This incident already has a case, %(ref)s: add what is new to that case instead "
            "of opening a second one."
        ),
        params={"ref": case.reference},
    )


def can_run(user: Any) -> bool:
    return bool(user.is_superuser or user.has_role(Role.CITY_OFFICIAL))


def require_official(actor: User) -> None:
    """Refuse (`not_city_official`, saying why) anyone but a city official: the check every
    case step makes, public for the apps that open cases on the cases app's behalf (scans)."""
    if not can_run(actor):
        raise CaseRefused(
            "not_city_official",
            _("Only city officials run cases; contractor staff can only open an intake."),
        )


def _check_date(event_date: date | None, precision: DatePrecision | str) -> tuple[date | None, str]:
    precision = DatePrecision(precision)
    if precision == DatePrecision.UNKNOWN:
        return None, precision.value
    if event_date is None:
        raise CaseRefused(
            "date_required",
            _("Give a date, or choose 'date unknown'."),
        )
    if precision == DatePrecision.MONTH:
        event_date = event_date.replace(day=1)
    return event_date, precision.value


def _next_status(kind: EntryKind, current: CaseStatus, to: CaseStatus | None) -> CaseStatus:
    if to is not None:
        return to
    targets = ENTRY_TARGETS[kind]
    if current in targets and kind not in STAGE_OPENERS:
        return current
    if kind == EntryKind.CONTACT and current == CaseStatus.SUSPENDED:
        return CaseStatus.CONTACTING
    if len(targets) == 1:
        return next(iter(targets))
    return current


def _wrong_repair(kind: EntryKind, programme: Programme | str) -> bool:
    """Whether `kind` is another programme's repair step (a point return on a public-fund case,
    a registration's correction on a points case)."""
    return kind in REPAIR_STEP.values() and kind != REPAIR_STEP[Programme(programme)]


def step_allowed(
    kind: EntryKind, current: CaseStatus, programme: Programme | str = Programme.POINTS
) -> bool:
    """Whether an entry of `kind` may be appended while a case of `programme` is `current`
    (the table, and the programme's repair step)."""
    target = _next_status(kind, current, None)
    return (
        target in ALLOWED_TRANSITIONS[current]
        and target in ENTRY_TARGETS[kind]
        and STAGE_OPENERS.get(kind) != current
        and not _wrong_repair(kind, programme)
    )


_NO_POINTS = {
    Programme.PUBLIC_FUND: _(
        "A public-fund account case has no points to return: record the correction of the "
        "account's registration instead."
    ),
    Programme.HEALTH_INSURANCE: _(
        "A health-insurance registration case has no points to return: record the correction "
        "of the registration instead."
    ),
}


def _lock_for_step(
    case: Case, kind: EntryKind, to: CaseStatus | None = None
) -> tuple[Case, TimelineEntry | None, CaseStatus, CaseStatus]:
    """Inside a transaction: lock the case and check that the step is allowed now; return the
    locked case, its last entry, its status and the status the step leads to."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    last = locked.timeline.order_by("-seq").first()
    current = CaseStatus(last.status) if last else CaseStatus.INTAKE
    target = _next_status(kind, current, to)
    if _wrong_repair(kind, locked.programme):
        raise CaseRefused(
            "repair_not_for_programme",
            _NO_POINTS.get(
                Programme(locked.programme),
                _(
                    "A point programme's case returns the points; a registration's correction "
                    "is for public-fund and health-insurance cases."
                ),
            ),
        )
    if (
        target not in ALLOWED_TRANSITIONS[current]
        or target not in ENTRY_TARGETS[kind]
        or STAGE_OPENERS.get(kind) == current
    ):
        raise CaseRefused(
            "transition_not_allowed",
            _("“%(step)s” is not allowed while the case is “%(status)s”."),
            params={"step": kind.label, "status": current.label},
        )
    return locked, last, current, target


def case_transition(
    case: Case,
    *,
    actor: User,
    kind: EntryKind,
    summary: str,
    to: CaseStatus | None = None,
    event_date: date | None = None,
    date_precision: DatePrecision | str = DatePrecision.DAY,
    party: Party | str = "",
    party_label: str = "",
    channel: Channel | str = "",
    comparison: ComparisonResult | str = "",
    detail: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one timeline entry if the transition table allows it. The only place that does."""
    require_official(actor)
    kind = EntryKind(kind)
    if not summary.strip():
        raise CaseRefused("summary_required", _("A summary is required."))
    event_date, precision = _check_date(event_date, date_precision)
    with transaction.atomic():
        locked, last, current, target = _lock_for_step(case, kind, to)
        entry = TimelineEntry.objects.create(
            case=locked,
            seq=(last.seq + 1) if last else 1,
            kind=kind,
            status=target,
            event_date=event_date,
            date_precision=precision,
            party=str(party),
            party_label=party_label,
            channel=str(channel),
            summary=summary,
            comparison=str(comparison),
            detail=detail or {},
            actor=actor,
        )
        _step_recorded(locked, entry, actor=actor, before=current)
    return entry


def _step_recorded(case: Case, entry: TimelineEntry, *, actor: User, before: CaseStatus) -> None:
    """The audit event of a timeline entry just appended (the status before it given)."""
    audit.record(
        CASES_STEP,
        actor=actor,
        subject=case,
        payload={
            "case": case.reference,
            "kind": str(entry.kind),
            "from_status": before.value,
            "to_status": str(entry.status),
            "entry": entry.seq,
        },
    )


def case_open(
    *,
    actor: User,
    title: str,
    resident_label: str,
    reported_by: str,
    summary: str,
    event_date: date | None = None,
    date_precision: DatePrecision | str = DatePrecision.DAY,
    channel: Channel | str = Channel.IN_PERSON,
    desk_location: str = "",
    terminal: Any = None,
    holder: Any = None,
    payment_link: Any = None,
    legacy_link: LegacyLink | None = None,
    other_resident_label: str = "",
    programme: Programme | str = Programme.POINTS,
    incident: Any = None,
    texts: dict[str, Any] | None = None,
) -> Case:
    """Open a case with its intake entry: who reported, what they said. ``programme``: what
    the link was made for (the incident report's wording follows it). ``incident``: the
    incident it is opened from; an incident has one case, a second is refused
    (`incident_has_case`), two at once included (the unique column decides). ``texts``: the
    language-neutral forms (`cases.text`) of what the system wrote from structured data, by
    key (``title``, ``resident_label``, ``reported_by``, ``summary``, ``opened_by``), kept beside the stored
    Japanese for pages in another language; a title left empty gets its programme's."""
    _require_can_open(actor)
    if not summary.strip() or not reported_by.strip():
        raise CaseRefused(
            "intake_incomplete",
            _("Say who reported and what they said."),
        )
    event_date, precision = _check_date(event_date, date_precision)
    with transaction.atomic():
        if incident is not None:
            earlier = Case.objects.filter(incident=incident).first()
            if earlier is not None:
                raise incident_has_case(earlier)
        texts = dict(texts or {})
        if not title:
            texts["title"] = text.neutral(INTAKE_TITLE_TEXTS[Programme(programme)])
        try:
            case = _new_case(
                title=title or INTAKE_TITLES[Programme(programme)],
                texts={k: texts[k] for k in ("title", "resident_label", "opened_by") if k in texts},
                resident_label=resident_label,
                other_resident_label=other_resident_label,
                desk_location=desk_location,
                terminal=terminal,
                holder=holder if holder is not None else getattr(payment_link, "holder", None),
                payment_link=payment_link,
                legacy_link=legacy_link,
                programme=Programme(programme),
                opened_by=actor,
                incident=incident,
            )
        except IntegrityError:
            if incident is None:
                raise
            # Opened at the same moment from the same incident (a second click, another
            # official): the first one's case stands.
            raise incident_has_case(Case.objects.get(incident=incident)) from None
        TimelineEntry.objects.create(
            case=case,
            seq=1,
            kind=EntryKind.INTAKE,
            status=CaseStatus.INTAKE,
            event_date=event_date,
            date_precision=precision,
            # A system's report (an incident, the forensic scan) is not a resident's.
            party=Party.OTHER if str(channel) == Channel.SYSTEM else Party.RESIDENT,
            party_label=reported_by,
            channel=str(channel),
            summary=summary,
            detail=_entry_text(
                summary=texts.get("summary"),
                party_label=texts.get("reported_by"),
                actor=texts.get("opened_by"),
            ),
            actor=actor,
        )
        audit.record(CASES_OPENED, actor=actor, subject=case, payload={"case": case.reference})
    return case


def _entry_text(**forms: Any) -> dict[str, Any]:
    """An entry's detail keeping the neutral forms given (`cases.text`), or none."""
    kept = {key: form for key, form in forms.items() if form}
    return {"text": kept} if kept else {}


def _new_case(**fields: Any) -> Case:
    """The case row, in a savepoint of its own (a second case of one incident fails here)."""
    with transaction.atomic():
        return Case.objects.create(**fields)


def case_report_added(
    case: Case,
    *,
    actor: User,
    reported_by: str,
    summary: str,
    detail: dict[str, Any],
    texts: dict[str, Any] | None = None,
) -> TimelineEntry:
    """A further report of the event a case is about (the resident's page: "this was not me"
    on another record of the same visit), appended to that case instead of opening a second
    one. Recorded as a note from the reporter that leaves the status as it is, in whatever
    stage short of closed (an intake too: the table's notes start with the investigation, but
    a report is not an official's step); the caller may open cases (`can_open`)."""
    _require_can_open(actor)
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        last = locked.timeline.order_by("-seq").first()
        current = CaseStatus(last.status) if last else CaseStatus.INTAKE
        if current == CaseStatus.CLOSED:
            raise CaseRefused(
                "transition_not_allowed",
                _("“%(step)s” is not allowed while the case is “%(status)s”."),
                params={"step": EntryKind.NOTE.label, "status": current.label},
            )
        entry = TimelineEntry.objects.create(
            case=locked,
            seq=(last.seq + 1) if last else 1,
            kind=EntryKind.NOTE,
            status=current,
            event_date=timezone.localdate(),
            party=Party.RESIDENT,
            party_label=reported_by,
            channel=Channel.SYSTEM,
            summary=summary,
            detail={
                **detail,
                **_entry_text(
                    summary=(texts or {}).get("summary"),
                    party_label=(texts or {}).get("reported_by"),
                    actor=(texts or {}).get("opened_by"),
                ),
            },
            actor=actor,
        )
        _step_recorded(locked, entry, actor=actor, before=current)
    return entry


def legacy_link_add(
    *,
    actor: User,
    resident_label: str,
    provider_name: str,
    account_number: str,
    linked_on: date | None = None,
    linked_on_precision: DatePrecision | str = DatePrecision.UNKNOWN,
    desk_location: str = "",
    session_log: list[dict[str, Any]] | None = None,
    source: str = "",
    holder: Any = None,
    identifier: str = "",
) -> LegacyLink:
    """Record a link made before signed completion. The number is kept only as a keyed hash
    and its last 4 characters; ``identifier``, when given, is what is hashed instead: the one
    string the programme's registration hashed (`remedy.programme_identifier`: a bank account
    or insurance details with the number), so a comparison can find it the same."""
    require_official(actor)
    linked_on, precision = (
        (None, DatePrecision.UNKNOWN.value)
        if DatePrecision(linked_on_precision) == DatePrecision.UNKNOWN
        else _check_date(linked_on, linked_on_precision)
    )
    with transaction.atomic():
        legacy = LegacyLink.objects.create(
            resident_label=resident_label,
            holder=holder,
            provider_name=provider_name,
            account_hash=remedy.identifier_hash(identifier or account_number),
            account_last4=remedy.identifier_last4(account_number),
            linked_on=linked_on,
            linked_on_precision=precision,
            desk_location=desk_location,
            session_log=session_log or [],
            source=source,
        )
        audit.record(
            CASES_LEGACY_LINK_ADDED,
            actor=actor,
            subject=legacy,
            payload={"resident": resident_label},
        )
    return legacy


CASE_CLOSED_LEGACY_LINK = _(
    "This case is closed, and a closed case is not changed: the legacy link was not recorded "
    "or attached. Open a new case for what was found."
)


def case_attach_legacy_link(case: Case, *, actor: User, legacy_link: LegacyLink) -> Case:
    """Attach a pre-signature link record to a case that has no signed link (audited)."""
    require_official(actor)
    with transaction.atomic():
        # Row locks first (the case), the audit event last.
        locked = Case.objects.select_for_update().get(pk=case.pk)
        if locked.payment_link_id is not None:
            raise CaseRefused("link_already_set", _("The case already has a link."))
        if locked.status == CaseStatus.CLOSED:
            raise CaseRefused("case_closed", CASE_CLOSED_LEGACY_LINK)
        locked.legacy_link = legacy_link
        locked.save(update_fields=["legacy_link"])
        audit.record(
            CASES_LEGACY_LINK_ATTACHED,
            actor=actor,
            subject=locked,
            payload={"case": locked.reference, "resident": legacy_link.resident_label},
        )
    case.legacy_link = legacy_link
    return case


def case_investigate(
    case: Case,
    *,
    actor: User,
    summary: str = "",
    event_date: date | None = None,
    date_precision: DatePrecision | str = DatePrecision.UNKNOWN,
) -> TimelineEntry:
    """Start the investigation; the automatic findings at this moment are kept in the entry."""
    require_official(actor)
    found = findings.findings_for(case)
    return case_transition(
        case,
        actor=actor,
        kind=EntryKind.INVESTIGATION,
        summary=summary or "調査を開始しました。",
        event_date=event_date,
        date_precision=date_precision,
        detail={"findings": [f.code for f in found]},
    )


def _stored_hash(case: Case, registration: Any) -> str:
    """The keyed hash of what the case's link registered: the legacy link's, else that of the
    registration the case is about (`selectors.case_registration`, read by the caller)."""
    if case.legacy_link is not None:
        return case.legacy_link.account_hash
    stored = remedy.registered_hash(registration)
    if not stored and remedy.registered_only_after(
        str(case.programme), case.holder, case.opened_at
    ):
        raise CaseRefused(
            "registered_after_opening",
            _(
                "There is nothing to compare with: the resident's registrations of this "
                "programme in this system were all made after the case was opened, and a case "
                "compares the registration it is about, not a later one. If the link was made "
                "before signed completion, record it on the case first (legacy link)."
            ),
        )
    if not stored:
        raise CaseRefused(
            "no_link",
            _(
                "There is nothing to compare with: the case has no link, and its resident has "
                "no registration of this programme in this system. If the link was made "
                "before signed completion, record it on the case first (legacy link)."
            ),
        )
    return stored


# What each programme's comparison compares, for the timeline's sentence (Japanese: the
# case is the city's Japanese record).
_COMPARED_JA = {
    Programme.POINTS: "ご本人が持参されたキャッシュレス決済のカード番号と、紐付けられている番号",
    Programme.PUBLIC_FUND: "ご本人が持参された通帳（またはキャッシュカード）の口座と、登録されている公金受取口座",
    Programme.HEALTH_INSURANCE: "ご本人が持参された健康保険の資格情報（保険者番号・記号・番号・枝番）と、利用登録されている資格情報",
}
_WRONG_COMPARISON = {
    Programme.POINTS: _(
        "This is a point programme's case: compare the payment card number the resident presents."
    ),
    Programme.PUBLIC_FUND: _(
        "This is a public-fund account case: compare the bank account the resident presents "
        "(bank, branch, account type and number)."
    ),
    Programme.HEALTH_INSURANCE: _(
        "This is a health-insurance registration case: compare the insurer number, symbol, "
        "number and branch number the resident presents."
    ),
}


# The holder's kana, by programme, and the name check's outcome, in the timeline's Japanese.
_KANA_WHAT_JA = {
    Programme.POINTS: "口座名義（カナ）",
    Programme.PUBLIC_FUND: "口座名義（カナ）",
    Programme.HEALTH_INSURANCE: "保険者に登録されている被保険者の氏名（カナ）",
}
_KANA_OUTCOME_JA = {
    "match": "一致しました",
    "close": "近い名前でしたが、完全には一致しませんでした",
    "no_match": "一致しませんでした",
}
_KANA_MISSING_JA = {
    "legacy": "署名付き確定以前の紐付けの記録には残っていないため",
    "not_reported": "外部のシステム（決済事業者・金融機関・保険者）から報告されていないため",
    "not_carried": "紐付け点検の記録から名義を引き継ぐ前に開かれた事案のため",
    "no_registration": "本システムに該当する登録がないため",
}


def _compare_kana(
    case: Case, programme: Programme, resident_kana: str, registration: Any
) -> tuple[str, str]:
    """Compare the account holder's kana (where the outside system reported it) with the
    resident's: the kana the official was shown (`resident_kana`), else the one the
    registration used. Returns the timeline's sentence and the outcome for the entry's detail
    (match | close | no_match | unknown | not_compared); neither kana is stored."""
    what = _KANA_WHAT_JA[programme]
    known = selectors.holder_kana(case, registration)
    if not known.kana:
        return f"{what}は{_KANA_MISSING_JA[known.missing]}、照合していません。", "unknown"
    theirs = resident_kana.strip() or known.registered_kana
    if not theirs:
        return f"ご本人のフリガナがないため、{what}は照合していません。", "not_compared"
    source = "ご本人のフリガナ" if resident_kana.strip() else "登録時に入力されたご本人のフリガナ"
    outcome = str(name_check(theirs, known.kana).outcome)
    outcome = outcome if outcome in _KANA_OUTCOME_JA else "no_match"
    return f"{what}を{source}と照合したところ、{_KANA_OUTCOME_JA[outcome]}。", outcome


def _compare(
    case: Case,
    programme: Programme,
    presented: str,
    *,
    actor: User,
    summary: str,
    resident_kana: str = "",
    **when: Any,
) -> TimelineEntry:
    """Compare what the resident presents with what the link registered, without showing or
    storing either: only same/different is recorded; and the account holder's kana with the
    resident's, where it is known (only the outcome is recorded)."""
    require_official(actor)
    if Programme(case.programme) != programme:
        raise CaseRefused(
            "comparison_not_for_programme", _WRONG_COMPARISON[Programme(case.programme)]
        )
    with transaction.atomic():
        # What the count covers locked first (a key lock goes before any row lock), then the
        # case: two comparisons at once, of this case or of another case the count covers,
        # count one after the other.
        key, scope = _comparison_scope(case)
        key_lock(_COMPARISON_LOCK_SPACE, key)
        _lock_for_step(case, EntryKind.COMPARISON)
        _refuse_beyond_comparisons(scope)
        # The registration is read once, for its hash and for its kana.
        registration = None if case.legacy_link is not None else selectors.case_registration(case)
        same = remedy.identifier_matches(presented, _stored_hash(case, registration))
        result = ComparisonResult.SAME if same else ComparisonResult.DIFFERENT
        outcome = {
            (True, True): "同じ番号でした。",
            (True, False): "異なる番号が登録されていました。",
            (False, True): "同じものでした。",
            (False, False): "異なるものが登録されていました。",
        }[(programme == Programme.POINTS, same)]
        kana_text, kana_outcome = _compare_kana(case, programme, resident_kana, registration)
        said = summary or f"{_COMPARED_JA[programme]}を照合したところ、{outcome}"
        return case_transition(
            case,
            actor=actor,
            kind=EntryKind.COMPARISON,
            summary=f"{said}\n{kana_text}",
            comparison=result,
            detail={"holder_kana": kana_outcome},
            **when,
        )


# The lock space of what a comparison count covers (the bytes "cmpr"), `locks.key_lock`.
_COMPARISON_LOCK_SPACE = 0x636D7072


def _comparison_scope(case: Case) -> tuple[str, Q]:
    """What the count of different comparisons covers, as the key of its lock and as the
    timeline entries' filter: every case of the same resident and programme, else of the same
    legacy link, else this case alone. Read from the case's row as it is now (a resident or a
    legacy link attached since the caller read it counts)."""
    row = Case.objects.values("pk", "holder_id", "programme", "legacy_link_id").get(pk=case.pk)
    if row["holder_id"] is not None:
        return (
            f"holder:{row['holder_id']}:{row['programme']}",
            Q(case__holder_id=row["holder_id"], case__programme=row["programme"]),
        )
    if row["legacy_link_id"] is not None:
        return f"legacy:{row['legacy_link_id']}", Q(case__legacy_link_id=row["legacy_link_id"])
    return f"case:{row['pk']}", Q(case_id=row["pk"])


def _refuse_beyond_comparisons(scope: Q) -> None:
    """Refuse a comparison once `CASE_COMPARISONS_DIFFERENT_MAX` different results were given
    against what this case compares: same/different asked without end would let an official
    guess the registered number (its last 4 are shown) one digit at a time (side doors,
    round 5). Counted over every case of the same resident and programme (or of the same
    legacy link), `scope`, so that opening another case does not start the count again; the
    caller holds the lock of that scope's key, so that two cases compared at once do not both
    pass the limit."""
    limit = int(settings.CASE_COMPARISONS_DIFFERENT_MAX)
    different = TimelineEntry.objects.filter(
        scope, kind=EntryKind.COMPARISON, comparison=ComparisonResult.DIFFERENT
    ).count()
    if different >= limit:
        raise CaseRefused(
            "comparisons_exhausted",
            _(
                "What this case compares has already been compared %(n)s times with a "
                "different result (on this case or another case of the same resident), so it "
                "is compared no more: comparing must not become a way to guess the registered "
                "number. Record what the resident presented in a note, and ask the provider, "
                "bank or insurer to confirm the registration."
            ),
            params={"n": different},
        )


def case_compare_identifier(
    case: Case, *, actor: User, presented: str, summary: str = "", **when: Any
) -> TimelineEntry:
    """A point programme's case: compare the payment card number the resident presents (and
    the account holder's kana, `resident_kana=` in `when`, see `_compare`)."""
    return _compare(case, Programme.POINTS, presented, actor=actor, summary=summary, **when)


def case_compare_account(
    case: Case,
    *,
    actor: User,
    bank_code: str,
    branch_code: str,
    account_type: str,
    account_number: str,
    summary: str = "",
    **when: Any,
) -> TimelineEntry:
    """A public-fund case: compare the bank account the resident presents (hashed as the
    registration hashed it: bank, branch, type and number together)."""
    account = remedy.bank_account_identifier(bank_code, branch_code, account_type, account_number)
    return _compare(case, Programme.PUBLIC_FUND, account, actor=actor, summary=summary, **when)


def case_compare_insured(
    case: Case,
    *,
    actor: User,
    insurer_number: str,
    insured_symbol: str,
    insured_number: str,
    branch: str,
    summary: str = "",
    **when: Any,
) -> TimelineEntry:
    """A health-insurance case: compare the insurer number, symbol, number and branch number
    the resident presents with the registration's."""
    insured = remedy.insured_identifier(insurer_number, insured_symbol, insured_number, branch)
    return _compare(case, Programme.HEALTH_INSURANCE, insured, actor=actor, summary=summary, **when)


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


def case_contact(
    case: Case,
    *,
    actor: User,
    party: Party | str,
    channel: Channel | str,
    summary: str,
    party_label: str = "",
    **when: Any,
) -> TimelineEntry:
    return case_transition(
        case,
        actor=actor,
        kind=EntryKind.CONTACT,
        summary=summary,
        party=party,
        party_label=party_label,
        channel=channel,
        **when,
    )


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


def case_notify(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.NOTIFICATION, summary=summary, **when)


def case_close(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.CLOSE, summary=summary, **when)


def case_note(case: Case, *, actor: User, summary: str, **when: Any) -> TimelineEntry:
    return case_transition(case, actor=actor, kind=EntryKind.NOTE, summary=summary, **when)


def case_report_edit(case: Case, *, actor: User, title: str, prevention: str) -> Case:
    require_official(actor)
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(report_title=title, report_prevention=prevention)
        audit.record(
            CASES_REPORT_EDITED, actor=actor, subject=case, payload={"case": case.reference}
        )
    case.report_title, case.report_prevention = title, prevention
    return case
