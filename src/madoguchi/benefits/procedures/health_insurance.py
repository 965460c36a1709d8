"""The health-insurance use registration."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from django import forms
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from madoguchi import era
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.language import page_language
from madoguchi.outside import validation

from .. import identifiers, insured, services, states
from ..constants import LinkStatus, RegistrationState, SuspensionState
from ..models import HealthInsuranceRegistration
from ..services import outbox
from .common import (
    INSURED_KANA,
    KANA_HINT,
    ProcedureBase,
    name_lines,
    resident_name_of,
    typed_field,
)

# --- health-insurance use registration ---------------------------------------------------------


class CardDateField(forms.DateField):
    """A birth date typed as the card prints it (昭和50年9月30日) or as people write it
    (1975/9/30, 1975-09-30): `era.parse_date`."""

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value
        try:
            return era.parse_date(str(value))
        except era.EraError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


# The codes of `insured.SEXES` in the page's language (男性, 女性, 適用なし).
SEXES = [("1", _("Male")), ("2", _("Female")), ("9", pgettext_lazy("sex", "Not applicable"))]


class HealthInsuranceForm(forms.Form):
    insurer_number = forms.CharField(label=_("Insurer number"), max_length=8)
    insured_symbol = forms.CharField(label=_("Insured person's symbol"), max_length=20)
    insured_number = forms.CharField(label=_("Insured person's number"), max_length=20)
    branch = forms.CharField(label=_("Branch number"), max_length=2)
    # The insured person must be the card holder (insured.bind_to_person).
    resident_birth_date = CardDateField(
        label=_("Resident's birth date (as on the card)"),
        help_text=_("As printed on the card, e.g. 昭和50年9月30日 (or 1975-09-30)."),
        error_messages={
            "invalid": _(
                "Enter the birth date as printed on the card, e.g. 昭和50年9月30日 or 1975-09-30."
            )
        },
    )
    # No sex is chosen until the staff choose one: a form that opened on 男性 registered a
    # woman's insurance as a man's when the field was passed over, a mismatch at the insurer.
    resident_sex = forms.ChoiceField(
        label=_("Resident's sex (as on the card)"),
        choices=[("", _("Choose as printed on the card")), *SEXES],
        error_messages={"required": _("Enter the resident's sex as on the card.")},
    )
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
        label=_("The resident confirmed the insured person's name"), required=False
    )
    resident_name = forms.CharField(widget=forms.HiddenInput, required=False)


class HealthInsuranceUse(ProcedureBase):
    """Registered at the insurer only after the resident's card has signed: the commit writes
    the registration as `registering` and an outbox call (idempotency key, bound to the visit's
    certificate); the outbox worker calls the insurer after the commit (docs/outside.md)."""

    kind: ClassVar[str] = "health_insurance_use"
    label_ja: ClassVar[str] = "健康保険証としての利用登録"
    label_en: ClassVar[str] = "Health-insurance use registration"
    form_class = HealthInsuranceForm

    @staticmethod
    def one_per_visit(fields: dict[str, Any]) -> str:
        """One registration per resident (`desk.procedures`): a second in one visit is refused
        at prepare, not after the resident's PIN."""
        return "health_insurance"

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        resident_name = resident_name_of(visit, fields)  # before any outside look-up
        # A registration a case has suspended at the insurer no longer counts (docs/cases.md);
        # one whose suspension the insurer has not answered yet still stands there, so here.
        standing = list(
            HealthInsuranceRegistration.objects.filter(
                holder=visit.holder, status=LinkStatus.EFFECTIVE
            )
            .exclude(state=RegistrationState.REFUSED)
            .values_list("suspension", flat=True)
        )
        if SuspensionState.SUSPENDING in standing:
            raise ProcedureInvalid(
                "health_insurance_suspending",
                _(
                    "This resident's health-insurance use registration is being suspended at "
                    "the insurer through a remediation case; register again once the insurer "
                    "has suspended it (the case page says when)."
                ),
                field="insurer_number",
            )
        if standing:
            raise ProcedureInvalid(
                "health_insurance_exists",
                _(
                    "Health-insurance use is already registered for this resident; there is "
                    "nothing more to register here (a mistake is put right through a "
                    "remediation case)."
                ),
                field="insurer_number",
            )
        # Each refusal beside the field it is about (an insurer number's check digit was shown
        # beside the insured person's number).
        insurer, symbol, number, branch = [
            typed_field(name, fields.get(name, ""), check)
            for name, check in (
                ("insurer_number", validation.insurer_number),
                ("insured_symbol", validation.insured_symbol),
                ("insured_number", validation.insured_number),
                ("branch", validation.insured_branch),
            )
        ]
        what = {
            "procedure": self.kind,
            "insurer": insurer,
            "insured_last4": identifiers.last4(number),
        }
        person = insured.bind_to_person(visit, fields, (insurer, symbol, number, branch), what)
        ident = identifiers.insured_identifier(insurer, symbol, number, branch)
        return {
            **person,
            "insurer_number": insurer,
            "insured": identifiers.masked(identifiers.last4(number)),
            "insured_hash": identifiers.identifier_hash(ident),
            "insured_last4": identifiers.last4(number),
            # The insurer needs the numbers themselves; they are kept only until the commit
            # and removed from the stored fields once registered (see commit).
            "_insured": {"symbol": symbol, "number": number, "branch": branch},
            "certificate": visit.certificate.fingerprint,
            "resident_name": resident_name,
        }

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        return {k: v for k, v in procedure.fields.items() if not k.startswith("_")}

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        return [
            "健康保険証としての利用登録",
            f"保険者番号: {f['insurer_number']}　被保険者番号: {f['insured']}",
            f"被保険者: {f.get('insured_name') or '（取得できません）'}",
            *name_lines(f, INSURED_KANA),
        ]

    def status_lines(self, completion: Completion, lang: str = "ja") -> list[str]:
        """Where the registration stands: 登録手続き中 until the insurer answered."""
        lang = page_language(lang)
        label = self.label_en if lang == "en" else self.label_ja
        return [
            f"{label}: {states.state_text(reg, lang)}"
            for reg in HealthInsuranceRegistration.objects.filter(
                completion=completion
            ).select_related("outside_call")
        ]

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        """Commit the registration as `registering` and its insurer call in the outbox: the
        insurer is called by the worker after this transaction (services/outbox.py), never
        inside it."""
        f = procedure.fields
        visit = procedure.visit
        try:
            # A savepoint: the completion's transaction goes on to its refusal, as a public-fund
            # account's does (a registration committed at another desk meanwhile was a server
            # error after the resident's PIN).
            with transaction.atomic():
                row = HealthInsuranceRegistration.objects.create(
                    holder=visit.holder,
                    visit=visit,
                    procedure=procedure,
                    completion=completion,
                    insurer_number=f["insurer_number"],
                    insured_hash=f["insured_hash"],
                    insured_last4=f["insured_last4"],
                    registration_ref="",
                    insurer_status="",
                    state=RegistrationState.REGISTERING,
                )
        except IntegrityError as exc:
            raise services.BenefitsRefused(
                "health_insurance_exists",
                _(
                    "The resident's card was registered for health-insurance use at another "
                    "desk first; nothing was committed."
                ),
            ) from exc
        outbox.enqueue_registration(row, procedure, f.get("_insured") or {}, f)
        # The insured numbers now live in the outbox row until the insurer answered; the
        # procedure (and the signed bytes, which never had them) keep only hash and last 4.
        procedure.fields = {k: v for k, v in f.items() if not k.startswith("_")}
        procedure.save(update_fields=["fields"])
