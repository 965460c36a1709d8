"""Health-insurance registration bound to the person (issue 11 item 2).

Before the resident's card signs, the insurer's read-only look-up returns the insured person's
attributes; they are compared with the card holder's: birth date and sex exactly (as staff
typed them from the card's face; both also with the ones the server verified from the card's
basic four attributes, once they were read), the kana
with the name check (the resident's kana as typed and confirmed, or the certified reading).
`no_match` refuses at prepare with an incident; `close` needs the staff's confirmation, as for
payment accounts; the insured person's name is a signed display line; the commit asks the
insurer again and refuses when the answer differs from what was signed: the outbox worker
does that, after the commit (services/outbox.py).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi import era
from madoguchi.desk.models import Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import InsuredPerson, OutsideError

from . import outside, services

# The card's codes (ISO/IEC 5218, docs/jpki-card.md): 9 is "not applicable", as the card tray
# says it, not "other".
SEXES = (("1", "男性"), ("2", "女性"), ("9", "適用なし"))
# The attributes compared with the card holder's, by their English names in the incident.
FIELDS_JA = {"birth date": "生年月日", "sex": "性別"}


def _mismatch(visit: Visit, what: dict[str, Any], differing: list[str]) -> ProcedureInvalid:
    summary, text = incident_text.sentence(
        incident_text.INSURED_PERSON_MISMATCH,
        fields=incident_text.by_language(
            ja="と".join(FIELDS_JA.get(f, f) for f in differing), en=" and ".join(differing)
        ),
    )
    incident_record(
        kind=IncidentKind.NAME_CHECK,
        reason_code="insured_person_mismatch",
        severity=Severity.HIGH,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={**what, "differing": differing, "text": text},
    )
    return ProcedureInvalid(
        "insured_person_mismatch",
        _(
            "The insured person of this health insurance is not the card holder (birth date or "
            "sex differ). Nothing was registered; check the insurance card."
        ),
        field="insured_number",
    )


def person_lookup(
    visit: Visit, keys: tuple[str, str, str, str], what: dict[str, Any]
) -> InsuredPerson:
    try:
        return outside.systems().insurer.lookup_insured(*keys)
    except OutsideError as exc:
        raise services.outside_failure(visit, exc, what, "insured_number") from exc


def bind_to_person(
    visit: Visit, fields: dict[str, Any], keys: tuple[str, str, str, str], what: dict[str, Any]
) -> dict[str, Any]:
    """Compare the insurer's insured person with the card holder; the fields to sign."""
    typed = str(fields.get("resident_birth_date", "")).strip()
    sex = str(fields.get("resident_sex", "")).strip()
    if not typed:
        raise ProcedureInvalid(
            "resident_birth_date_required",
            _("Enter the resident's birth date as on the card."),
            field="resident_birth_date",
        )
    # Read as the desk page's form reads it (昭和50年9月30日, full-width digits, 1975/9/30): the
    # API took only 1975-09-30, and compared any other writing of the same day as a different
    # birth date, a mismatch incident in the city's report.
    try:
        born = era.parse_date(typed)
    except era.EraError:
        raise ProcedureInvalid(
            "resident_birth_date_invalid",
            _("Enter the birth date as printed on the card, e.g. 昭和50年9月30日 or 1975-09-30."),
            field="resident_birth_date",
        ) from None
    # A day after today is a slip of the keys (2075 for 1975, 令和 for 昭和): said so here, where
    # the insurer's record would only differ from it, a mismatch incident in the city's report.
    if born > timezone.localdate():
        raise ProcedureInvalid(
            "resident_birth_date_future",
            _(
                "The birth date entered is after today; nothing was registered. Check it against "
                "the card (the era and the year)."
            ),
            field="resident_birth_date",
        )
    birth = born.isoformat()
    if sex not in {code for code, _label in SEXES}:
        raise ProcedureInvalid(
            "resident_sex_required",
            _("Enter the resident's sex as on the card."),
            field="resident_sex",
        )
    kana, source = services.resident_kana(visit, fields)
    person = person_lookup(visit, keys, what)
    if person.status != "active":
        raise ProcedureInvalid(
            "insurance_not_eligible",
            _("The insurer says this insurance is no longer valid; nothing was registered."),
            field="insured_number",
        )
    differing = []
    # The birth date and sex typed from the card's face stand in for the card only until the
    # server has verified the card's basic four: from then on the card's are compared as well,
    # so what is typed from another document (a namesake's insurance card) cannot match.
    verified = visit.card_birth_date.isoformat() if visit.card_birth_date else None
    if person.birth_date != birth or (verified is not None and person.birth_date != verified):
        differing.append("birth date")
    if person.sex != sex or (visit.card_sex and person.sex != visit.card_sex):
        differing.append("sex")
    if differing:
        raise _mismatch(visit, what, differing)
    own = {k: v for k, v in fields.items() if k != "use_representative_exception"}
    name = services.name_decide(
        visit,
        kana=kana,
        kana_source=source,
        account_kana=person.name_kana,
        fields=own,
        what=what,
        account=False,
    )
    return {"insured_name": person.name or "", **name}
