"""The investigation and the comparisons: what the resident presents compared with what the
link registered, only same/different recorded, and a limit on different results."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.models import User
from madoguchi.benefits.services.names import kana_refusal
from madoguchi.locks import key_lock
from madoguchi.namecheck import check as name_check

from .. import findings, remedy, selectors
from ..constants import ComparisonResult, DatePrecision, EntryKind, Programme
from ..models import Case, TimelineEntry
from .access import CaseRefused, require_official
from .transitions import _lock_for_step, case_transition


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


def refuse_resident_kana(kana: str) -> None:
    """The resident's kana a comparison is given, refused as the desk refuses it (kanji, a long
    number, letters no account's name holds, a legal form: `benefits.services.names`): kanji
    compared with the account holder's kana came out a close match, whoever's account it was,
    and the comparison counted against the case's limit."""
    refused = kana_refusal(kana)
    if refused is not None:
        raise CaseRefused(f"resident_kana_{refused[0]}", refused[1], status=400)


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
    refuse_resident_kana(resident_kana)
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
                "number. Record in a note which documents the resident presented (a "
                "passbook, an insurance card), never their numbers, and ask the provider, bank "
                "or insurer to confirm the registration."
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
