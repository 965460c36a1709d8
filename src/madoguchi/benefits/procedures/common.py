"""What the benefits procedures share: the programme check, the name lines, the base handler, the name-check form fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.namecheck.reasons import Outcome, outcome_text
from madoguchi.outside import OutsideError
from madoguchi.plaintext import long_number
from madoguchi.refusals import ByLanguage

from ..constants import RELATIONSHIP_JA, NameException, ProgrammeScope
from ..models import (
    Programme,
    ProgrammeVersion,
)

T = TypeVar("T")


def typed_field(name: str, typed: object, check: Callable[[str], T]) -> T:
    """What was typed in the field `name`, as `check` (an `outside.validation` function)
    normalises it. What cannot be what the field asks for (a 4-digit branch code, a 2-digit
    security code) is a slip of the keys: refused (`ProcedureInvalid`) beside that field before
    any outside system is asked, with no incident, where the outside client's own check made it
    an OUTSIDE_FAILURE incident in the city's report."""
    try:
        return check(str(typed if typed is not None else ""))
    except OutsideError as exc:
        raise ProcedureInvalid.carrying(
            exc.code, ja=exc.message_ja, en=exc.message_en, field=name
        ) from exc


def resident_name_of(visit: Visit, fields: dict[str, Any]) -> str:
    """The resident's name a procedure carries (signed on the PIN pad, stored, printed on the
    receipt): only the name of the card's basic four the server verified in this visit
    (`Visit.card_name`), never the desk's word. A client may send it back as it is or send none;
    a different one is refused (nothing stored), as is any name before a verified read, when
    the procedure carries none (docs/desk.md "The resident's name")."""
    sent = str(fields.get("resident_name", "") or "").strip()
    if long_number(sent):
        raise ProcedureInvalid("resident_name_number", NAME_NUMBER_MESSAGE, field="resident_name")
    verified = visit.card_name
    if sent and not verified:
        raise ProcedureInvalid("resident_name_unread", NAME_UNREAD_MESSAGE, field="resident_name")
    if sent and sent != verified:
        raise ProcedureInvalid("resident_name_differs", NAME_DIFFERS_MESSAGE, field="resident_name")
    return verified


NAME_NUMBER_MESSAGE = _(
    "The resident's name contains a long number (an individual number, an account number or a "
    "payment service ID). A name is signed, stored and printed on the receipt; it carries no "
    "number. Nothing was stored; read the name from the card again."
)
NAME_UNREAD_MESSAGE = _(
    "A resident's name was sent, but no card was read in this visit. The name on the signed "
    "lines and the receipt is taken only from the card the server verified (basic four, "
    "input-support PIN). Nothing was stored; read the card, or send no name."
)
NAME_DIFFERS_MESSAGE = _(
    "The resident's name sent differs from the name on the card read in this visit. The name "
    "on the signed lines and the receipt is taken only from the card the server verified. "
    "Nothing was stored; send the card's name or none (the server fills it in)."
)


_PROGRAMME_CODE = re.compile(r"[-a-zA-Z0-9_]{1,50}")
"""A programme's code (a slug of at most 50, ``Programme.code``)."""


def open_version(programme_code: str) -> tuple[Programme, ProgrammeVersion]:
    programme = Programme.objects.filter(code=programme_code, is_active=True).first()
    version = programme.current_version() if programme else None
    if programme is None or version is None:
        if not _PROGRAMME_CODE.fullmatch(programme_code):
            # Not a programme's code at all: the client's own bytes (markup, a megabyte) are
            # not echoed back, as an unknown procedure's kind is not.
            raise ProcedureInvalid(
                "programme_unknown",
                _("No programme has the code given; nothing was prepared."),
                field="programme",
            )
        raise ProcedureInvalid(
            "programme_unknown",
            _("This programme (%(programme)s) is not taking applications."),
            field="programme",
            params={"programme": programme_code},
        )
    refuse_outside_window(version)
    return programme, version


def refuse_outside_window(version: Any) -> None:
    """A programme version takes applications from `opens_at` until `closes_at`: checked when
    the application is prepared and again when it is committed (a visit stays open up to half
    an hour, and a resident signing at 23:59 of the last day was linked minutes late)."""
    now = timezone.now()
    if not version.opens_at <= now < version.closes_at:
        raise ProcedureInvalid(
            "programme_closed",
            _("%(programme)s is not taking applications now."),
            field="programme",
            params={"programme": ByLanguage(version.name_ja, version.name_en or version.name_ja)},
        )


def refuse_another_citys_programme(visit: Visit, programme: Programme) -> None:
    """A municipality's add-on is applied for at that municipality's desks: its `municipality`
    names the city (as its organisation is named, or by its municipality code). Another city's
    desk, whose staff act for their own city, is refused; so is a desk that serves no city.
    A municipal programme that names no municipality, and the national programme, are taken at
    every desk."""
    wanted = str(programme.municipality or "").strip()
    if programme.scope != ProgrammeScope.MUNICIPAL or not wanted:
        return
    organisation = visit.terminal.contractor
    city = organisation if organisation.kind == OrganisationKind.CITY else organisation.city
    if city is not None and wanted in {city.name, city.municipality_code}:
        return
    current = programme.current_version()
    name = ByLanguage(current.name_ja, current.name_en or current.name_ja) if current else wanted
    raise ProcedureInvalid(
        "programme_of_another_city",
        _(
            "%(programme)s is %(municipality)s's own programme: it is applied for at "
            "%(municipality)s's desks, and this desk serves %(city)s."
        ),
        field="programme",
        params={
            "programme": name,
            "municipality": wanted,
            "city": city.name if city is not None else "-",
        },
    )


INSURED_KANA = "被保険者のお名前（フリガナ）"
# What the resident confirmed after a close match, by the line's label.
HOLDER_CONFIRMED = {INSURED_KANA: "被保険者のお名前"}


def resident_name_line(f: dict[str, Any]) -> list[str]:
    """Whose name the account's was compared with: the resident's kana (their confirmed entry,
    or the certified reading), after the card's name when the card was read. The lines said
    only 「口座名義: ﾔﾏﾀﾞ ﾀﾛｳ」 and 「名義照合: 一致」, so a resident whose card signed another
    person's account under that person's typed reading read "matched" and nothing that was not
    theirs; now the reading they are said to have is on the lines they sign."""
    kana = str(f.get("resident_kana") or "")
    if not kana:  # a procedure prepared before the line existed
        return []
    name = str(f.get("resident_name") or "")
    if name:
        return [f"ご本人のお名前: {name}（フリガナ: {kana}）"]
    return [f"ご本人のお名前（フリガナ）: {kana}"]


def name_lines(f: dict[str, Any], holder: str = "口座名義") -> list[str]:
    """Whose name was compared, the compared name and the check's outcome. `holder` names what
    was compared: an account's holder, or (health insurance) the insured person's name in kana."""
    lines = resident_name_line(f)
    if f.get("account_holder_kana"):
        lines.append(f"{holder}: {f['account_holder_kana']}")
    else:
        lines.append(f"{holder}: （取得できません）")
    # Sentences, never the codes (the codes are in the signed fields and the audit log).
    line = f"名義照合: {outcome_text(Outcome(f['name_outcome']), 'ja')}"
    if f.get("close_confirmed"):
        line += f" ・ご本人が{HOLDER_CONFIRMED.get(holder, holder)}を確認済み"
    lines.append(line)
    if f.get("name_exception") == NameException.MINOR_REPRESENTATIVE:
        lines.extend(representative_lines(f))
    return lines


def representative_lines(f: dict[str, Any]) -> list[str]:
    """The exception in sentences: who the representative is to the resident, the reading the
    account's name was compared with, the outcome, and that both cards sign. The lines said only
    「口座名義は法定代理人のお名前と照合: 一致」: with the account holder's own reading typed as
    the representative's, a stranger's account matched, and neither card signed a line saying
    whose reading that was (the resident's has been named since `resident_name_line`)."""
    relationship = RELATIONSHIP_JA.get(f.get("representative_relationship", ""), "法定代理人")
    lines = [f"法定代理人による申請: {relationship}の口座を使用します（未成年者の例外）"]
    kana = str(f.get("representative_kana") or "")
    if kana:  # a procedure prepared before the line existed has none
        lines.append(f"法定代理人（{relationship}）のお名前（フリガナ）: {kana}")
    lines += [
        "口座名義は法定代理人のお名前と照合: "
        + outcome_text(Outcome(f.get("representative_outcome") or "no_match"), "ja"),
        f"法定代理人（{relationship}）はご自身のカードで認証済みで、ご本人と法定代理人の"
        "2枚のカードでこの内容に署名します",
    ]
    return lines


class ProcedureBase:
    kind: ClassVar[str]
    label_ja: ClassVar[str]
    label_en: ClassVar[str]

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        # The cleaned fields are exactly what commit() writes.
        return dict(procedure.fields)

    def receipt_url(self, completion: Completion) -> str | None:
        return reverse("benefits:receipt", args=[completion.pk])


# What the kana field takes (`services.names.resident_kana` refuses kanji in it).
KANA_HINT = _(
    "The reading, as the resident confirms it: katakana or hiragana (Latin letters for a name "
    "written so), never kanji."
)


class NameCheckFields(forms.Form):
    """The fields of the desk's name check, shared by every form that links an account; they
    follow the form's own fields (`field_order` lists those)."""

    resident_kana = forms.CharField(
        label=_("Resident's name (kana)"),
        max_length=100,
        required=False,
        help_text=KANA_HINT,
    )
    resident_kana_confirmed = forms.BooleanField(
        label=_("The resident confirmed the kana"), required=False
    )
    confirm_close_match = forms.BooleanField(
        label=_("The resident confirmed the account holder's name"), required=False
    )
    use_representative_exception = forms.BooleanField(
        label=_("A minor uses the legal representative's account (exception)"), required=False
    )
    resident_name = forms.CharField(widget=forms.HiddenInput, required=False)
