"""The name check at the desk: the resident's kana and the desk's rules on the outcome."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.desk.models import Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.desk.services import is_minor_on
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.namecheck.check import NameCheckResult
from madoguchi.namecheck.check import check as name_check
from madoguchi.namecheck.normalise import KANJI, OTHER, analyse
from madoguchi.namecheck.reasons import ACCOUNT, INSURED, Outcome, no_match_reason_text
from madoguchi.plaintext import long_number
from madoguchi.refusals import ByLanguage

from ..constants import (
    MINOR_AGE,
    KanaSource,
    NameException,
    Relationship,
)
from ..models import (
    VisitRepresentative,
)
from ..readings import certified_readings
from .base import truthy

# --- name check --------------------------------------------------------------------------------


# A kana name typed at the desk is signed, stored with the link and shown on the receipt and
# the officials' pages: a long number typed into it (the individual number read off the card,
# an account number) would be kept and shown as the name. The name check does not stop it: a
# name of digits is a script it cannot compare, a close match the desk confirms with one tick.
KANA_NUMBER_MESSAGE = _(
    "The kana name contains a long number (an individual number, an account number or a "
    "payment service ID). Do not type numbers into the name: it is signed, stored and shown "
    "on the receipt. Nothing was stored; type the name again in kana."
)


# The name check takes a legal form (株式会社, (株), ｶ) …) off both names and matches a company's
# account only with a name that carries one too (LEGAL_ENTITY otherwise). A resident and a
# legal representative are people: with a legal form typed into their kana, a company's account
# of the same name would pass the check as a match, where it is refused for their own name.
KANA_LEGAL_FORM_MESSAGE = _(
    "The kana name contains a company's legal form (such as 株式会社, (株) or ｶ)). A resident's "
    "name is a person's: with a legal form in it, a company's account would pass the name "
    "check. Nothing was stored; type the person's own name in kana."
)


# The kana is the reading the name check compares with the account's kana. Kanji typed into it
# (the card's name copied across) cannot be compared: every account's name would come out a
# close match (SCRIPT_MISMATCH), confirmed with one tick, B's account for A as for anyone.
KANA_KANJI_MESSAGE = _(
    "The kana name contains kanji. Type the name's reading in katakana (or hiragana; Latin "
    "letters for a name written so): kanji cannot be compared with the account's name, so "
    "every account would pass as a close match. Nothing was stored."
)


# Letters no account's name can hold (Zengin: kana, A-Z, digits and a few marks): symbols,
# Hangul, Cyrillic, accented letters. Against a kana or Latin account they compare as nothing
# (SCRIPT_MISMATCH), so, as with kanji, every account came out a close match.
KANA_CHARACTERS_MESSAGE = _(
    "The kana name contains characters no account's name can hold (symbols, or letters of "
    "another alphabet such as Hangul or Cyrillic). Type the name's reading in katakana (or "
    "hiragana; Latin letters for a name written so). Nothing was stored."
)


# A kana of marks only (ー, ・, （）, －, ゛, a zero-width space) is no name: the name check
# drops every mark and compares nothing (RESIDENT_NAME_EMPTY), which read as a no-match of the
# account's name, with a NAME_CHECK incident, for a kana the desk should have asked again for.
KANA_NO_LETTERS_MESSAGE = _(
    "The kana name has no letters, only marks (such as ー, ・ or brackets). Type the name's "
    "reading in katakana (or hiragana; Latin letters for a name written so). Nothing was stored."
)

KANA_LENGTH = 100
"""The most characters of a kana name typed at the desk (the form's limit, and the column's
that keeps it)."""


def no_letters(kana: str) -> bool:
    """Whether `kana` (stripped) is empty once the name check's normalisation drops its marks:
    blank, or marks only (ー, ・, （）, ゛, a zero-width space)."""
    return not analyse(kana).key


def kana_refusal(kana: str) -> tuple[str, Any] | None:
    """Why a person's kana typed at the desk cannot be taken (the end of its refusal's code,
    `resident_kana_<…>` or `representative_kana_<…>`, and its message), or None: a long number,
    kanji, letters no account's name holds (the name check's `OTHER` script), a legal form,
    marks and no letter. An empty kana is for the caller (the desk requires one; a case's
    comparison then takes the registered one)."""
    if long_number(kana):
        return "number", KANA_NUMBER_MESSAGE
    read = analyse(kana)
    if kana.strip() and not read.key:
        return "no_letters", KANA_NO_LETTERS_MESSAGE
    if read.script & KANJI:  # 々 and 〆 too
        return "kanji", KANA_KANJI_MESSAGE
    if read.script & OTHER:
        return "characters", KANA_CHARACTERS_MESSAGE
    if read.entity:
        return "legal_form", KANA_LEGAL_FORM_MESSAGE
    return None


def resident_kana(visit: Visit, fields: dict[str, Any]) -> tuple[str, KanaSource]:
    """The resident's kana: the certified reading if an adapter has one, else their own entry,
    which they must have confirmed on screen."""
    readings = certified_readings()
    if readings is not None:
        reading = readings.reading_for(visit.certificate)
        if reading:
            return reading, KanaSource.CERTIFIED
    entered = str(fields.get("resident_kana", "")).strip()
    if len(entered) > KANA_LENGTH:
        # The form refuses it; the API cut it to 100 characters and checked, signed and
        # stored the cut name, another name than the one the resident confirmed.
        raise ProcedureInvalid(
            "resident_kana_too_long",
            _(
                "The resident's kana name has %(length)s characters; at most %(limit)s are "
                "taken, and a name cut short would be checked and signed as another name. "
                "Nothing was stored; type the name again."
            ),
            field="resident_kana",
            params={"limit": KANA_LENGTH, "length": len(entered)},
        )
    if no_letters(entered):
        # Marks only (ー, ・, （）) are no kana either: refused as none, before any outside
        # system is asked; it went to the name check as a no-match, with an incident.
        raise ProcedureInvalid(
            "resident_kana_required",
            _("The resident's kana name is required."),
            field="resident_kana",
        )
    refused = kana_refusal(entered)
    if refused is not None:
        raise ProcedureInvalid(f"resident_kana_{refused[0]}", refused[1], field="resident_kana")
    if not truthy(fields.get("resident_kana_confirmed")):
        raise ProcedureInvalid(
            "resident_kana_unconfirmed",
            _("The resident must confirm the kana name on screen."),
            field="resident_kana_confirmed",
        )
    return entered, KanaSource.RESIDENT_ENTRY


def resident_is_minor(visit: Visit) -> bool | None:
    """Whether the resident is a minor, from the birth date of the basic four the server
    verified in this visit (desk.services.visit_basic_four); None if none was read."""
    born = visit.card_birth_date
    if born is None:
        return None
    return is_minor_on(born, timezone.localdate(), MINOR_AGE)


def _show(name: str | None, *, account: bool = True) -> str:
    if name:
        return name
    return "（口座名義を取得できません）" if account else "（被保険者のお名前を取得できません）"


def name_decide(
    visit: Visit,
    *,
    kana: str,
    kana_source: KanaSource,
    account_kana: str | None,
    fields: dict[str, Any],
    what: dict[str, Any],
    account: bool = True,
) -> dict[str, Any]:
    """Run the name check and apply the desk's rules. Returns the fields to sign and write.
    `account`: the name checked is an account holder's (False: an insurer's record's).

    match: goes ahead; close / unavailable: needs `confirm_close_match: true` (the resident saw
    the account's name); no_match: refused (incident NAME_CHECK), except for a minor using a
    legal representative's account (`use_representative_exception: true`, the resident's birth
    date, and the representative authenticated in this visit with their own card).
    """
    result = name_check(kana, account_kana)
    decided = _checked_fields(kana, kana_source, account_kana, result)
    checked = result
    if result.outcome is Outcome.NO_MATCH:
        if not truthy(fields.get("use_representative_exception")):
            raise _no_match(visit, result, what, account=account)
        checked = _representative_exception(visit, account_kana, fields, what, decided)
    if checked.outcome in (Outcome.CLOSE, Outcome.UNAVAILABLE):
        if not truthy(fields.get("confirm_close_match")):
            raise _close_unconfirmed(account_kana, checked, account=account)
        decided["close_confirmed"] = True
    return decided


def _checked_fields(
    kana: str, kana_source: KanaSource, account_kana: str | None, result: NameCheckResult
) -> dict[str, Any]:
    """What of the check is signed and written (before the desk's rules add to it)."""
    return {
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


def _record_no_match(
    visit: Visit,
    reason_code: str,
    result: NameCheckResult,
    what: dict[str, Any],
    summary: str,
    text: dict[str, Any],
) -> None:
    """Record the NAME_CHECK incident of a name that matched no one: the resident's or the
    representative's (`reason_code` says which), with what was checked and the result."""
    incident_record(
        kind=IncidentKind.NAME_CHECK,
        reason_code=reason_code,
        severity=Severity.MEDIUM,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={
            **what,
            "outcome": str(result.outcome),
            "reason": str(result.reason),
            "score": round(result.score, 1),
            "text": text,
        },
    )


def _no_match(
    visit: Visit, result: NameCheckResult, what: dict[str, Any], *, account: bool
) -> ProcedureInvalid:
    """Record the NAME_CHECK incident of a plain no-match; the refusal to raise. For an account
    (a payment service's or a bank's) it ends with what the desk does next: a family member's
    account read as a dead end (a walk of the desk day, 2026-12-02)."""
    if account:
        summary, text = incident_text.sentence(
            incident_text.NAME_CHECK_NO_MATCH, reason=incident_text.no_match_reason(result.reason)
        )
        _record_no_match(visit, str(result.reason), result, what, summary, text)
        return ProcedureInvalid(
            "name_no_match",
            _(
                "The account holder's name does not match the resident's; nothing was linked. "
                "%(reason)s Only an account in the resident's own name can be linked: ask "
                "whether they have one (a minor may use a legal representative's, by the "
                "exception)."
            ),
            field="account",
            params={"reason": _no_match_reason(result, ACCOUNT)},
        )
    # A health insurance has no account: what was compared is the insured person's name on
    # the insurer's record, and its incident reads (and is counted) apart from accounts'.
    summary, text = incident_text.sentence(
        incident_text.NAME_CHECK_INSURED_NO_MATCH,
        reason=incident_text.no_match_reason(result.reason, INSURED),
    )
    code = f"{incident_text.INSURED_PREFIX}{result.reason}"
    _record_no_match(visit, code, result, what, summary, text)
    return ProcedureInvalid(
        "name_no_match",
        _(
            "The insured person's name on the insurer's record does not match the "
            "resident's; nothing was registered. %(reason)s Check with the resident that the "
            "insurance card is their own."
        ),
        field="insured_number",
        params={"reason": _no_match_reason(result, INSURED)},
    )


def _no_match_reason(result: NameCheckResult, subject: str) -> ByLanguage:
    """What the refusal adds after "the name does not match": the reason's own sentence, but
    for plainly different names (whose sentence opens with "the names do not match" again)
    only what it adds; `subject` says what was compared."""
    return ByLanguage(
        no_match_reason_text(result.reason, "ja", subject),
        no_match_reason_text(result.reason, "en", subject),
    )


def _representative_exception(
    visit: Visit,
    account_kana: str | None,
    fields: dict[str, Any],
    what: dict[str, Any],
    decided: dict[str, Any],
) -> NameCheckResult:
    """A minor using their legal representative's account: the representative's own check.

    Adds the exception to `decided`; refuses unless the resident is a minor, the representative
    authenticated in this visit, and the account's name is not a no-match for them too.
    """
    minor = resident_is_minor(visit)
    if minor is None:
        raise ProcedureInvalid(
            "resident_birth_date_unread",
            _(
                "Read the resident's card first (basic four attributes, input-support PIN): "
                "whether the resident is a minor is decided only from the birth date on the card."
            ),
            field="use_representative_exception",
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
    if not minor:
        # An adult ward's representative needs a record of the guardianship (成年後見の登記),
        # which this installation does not hold: an adult is always refused here.
        raise ProcedureInvalid(
            "exception_not_minor",
            _(
                "The resident is not a minor (birth date read from their card) and there is no "
                "record of an adult guardianship; the representative exception does not apply."
            ),
            field="use_representative_exception",
        )
    if rep.relationship not in (Relationship.PARENT, Relationship.GUARDIAN):
        raise ProcedureInvalid(
            "relationship_not_for_minor",
            _(
                "For a minor the representative is a parent (親権者) or a guardian of a minor "
                "(未成年後見人); choose the relationship again."
            ),
            field="use_representative_exception",
        )
    checked = name_check(rep.kana, account_kana)
    decided.update(
        name_exception=str(NameException.MINOR_REPRESENTATIVE),
        representative=rep.pk,
        representative_fingerprint=rep.certificate.fingerprint,
        representative_relationship=str(rep.relationship),
        # The reading compared, signed and shown (`procedures.common.representative_lines`).
        representative_kana=rep.kana,
        representative_kana_source=str(rep.kana_source),
        representative_outcome=str(checked.outcome),
        representative_reason=str(checked.reason),
    )
    if checked.outcome is Outcome.NO_MATCH:
        summary, text = incident_text.sentence(
            incident_text.NAME_CHECK_REPRESENTATIVE_NO_MATCH,
            reason=incident_text.no_match_reason(checked.reason),
        )
        _record_no_match(
            visit, f"{incident_text.REPRESENTATIVE}{checked.reason}", checked, what, summary, text
        )
        raise ProcedureInvalid(
            "name_no_match",
            _("The account holder's name matches neither the minor nor the representative."),
            field="account",
        )
    return checked


def _close_unconfirmed(
    account_kana: str | None, checked: NameCheckResult, *, account: bool = True
) -> ProcedureInvalid:
    """A close (or unavailable) name the resident has not confirmed on screen: an account
    holder's, or (`account=False`) the insured person's on the insurer's record."""
    subject = ACCOUNT if account else INSURED
    params = {
        "name": ByLanguage(
            _show(account_kana, account=account),
            account_kana
            or (
                "(the account's name is not available)"
                if account
                else "(the insurer's record gives no name)"
            ),
        ),
        "outcome": ByLanguage(checked.outcome_text("ja"), checked.outcome_text("en")),
        "reason": ByLanguage(
            checked.reason_text("ja", subject), checked.reason_text("en", subject)
        ),
    }
    if checked.outcome is Outcome.UNAVAILABLE:
        # No name to show: it read 「口座名義「（口座名義を取得できません）」がご本人のお名前と
        # 完全には一致しません」, a name that is not one said not to match.
        return ProcedureInvalid(
            "name_close_unconfirmed",
            _(
                "The account holder's name could not be obtained from the provider or bank, "
                "so it was not compared with the resident's (%(outcome)s). Confirm the account "
                "holder's name with the resident, and ask the resident to confirm that this is "
                "their own account."
            )
            if account
            else _(
                "The insurer's record gives no name for the insured person, so it was not "
                "compared with the resident's (%(outcome)s). Confirm the insured person's name "
                "with the resident, and ask the resident to confirm that this is their own "
                "insurance."
            ),
            field="confirm_close_match",
            params=params,
        )
    if not account:
        return ProcedureInvalid(
            "name_close_unconfirmed",
            _(
                "The insured person's name on the insurer's record “%(name)s” does not fully "
                "match the resident's (%(outcome)s). %(reason)s Ask the resident to confirm "
                "that this is their own insurance."
            ),
            field="confirm_close_match",
            params=params,
        )
    return ProcedureInvalid(
        "name_close_unconfirmed",
        _(
            "The account holder's name “%(name)s” does not fully match the "
            "resident's (%(outcome)s). %(reason)s Ask the resident to confirm that "
            "this is their own account."
        ),
        field="confirm_close_match",
        params=params,
    )


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
