"""The benefits procedures, registered with the desk: point application, public-fund
receiving account registration, health-insurance use registration.

Each is prepared (clean: outside checks, name check) and then written only by the resident's
signed completion (commit). What is signed is exactly what is written: `transaction_entry`
returns the cleaned fields, which are the written form (hashes, last 4, name check results).
The full payment service ID, security code and account number are never kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk import procedures as desk_procedures
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import BankAccountType, OutsideError, validation
from madoguchi.refusals import ByLanguage

from . import identifiers, outside, services
from .constants import NATIONAL_PROGRAMME, CategoryKind, LinkStatus, NameException
from .events import (
    BENEFITS_HEALTH_INSURANCE_REGISTERED,
    BENEFITS_LINK_CREATED,
    BENEFITS_PUBLIC_FUND_REGISTERED,
)
from .models import (
    HealthInsuranceRegistration,
    PaymentLink,
    Programme,
    ProgrammeVersion,
    Provider,
    PublicFundAccount,
)


def _resident_name(fields: dict[str, Any]) -> str:
    """The name read from the card's basic four attributes (for the receipt), if any."""
    return str(fields.get("resident_name", "") or "").strip()[:100]


def _open_version(programme_code: str) -> tuple[Programme, ProgrammeVersion]:
    programme = Programme.objects.filter(code=programme_code, is_active=True).first()
    version = programme.current_version() if programme else None
    if programme is None or version is None:
        raise ProcedureInvalid(
            "programme_unknown",
            _("This programme (%(programme)s) is not taking applications."),
            field="programme",
            params={"programme": programme_code},
        )
    now = timezone.now()
    if not version.opens_at <= now < version.closes_at:
        raise ProcedureInvalid(
            "programme_closed",
            _("%(programme)s is not taking applications now."),
            field="programme",
            params={"programme": ByLanguage(version.name_ja, version.name_en or version.name_ja)},
        )
    return programme, version


def _name_lines(f: dict[str, Any]) -> list[str]:
    lines = []
    if f.get("account_holder_kana"):
        lines.append(f"口座名義: {f['account_holder_kana']}")
    else:
        lines.append("口座名義: （取得できません）")
    line = f"名義照合: {f['name_outcome']}（{f['name_reason']}）"
    if f.get("close_confirmed"):
        line += " ・ご本人が口座名義を確認済み"
    lines.append(line)
    if f.get("name_exception") == NameException.MINOR_REPRESENTATIVE:
        lines.append(
            "例外: 未成年者が法定代理人の口座を使用（法定代理人がご本人のカードで認証済み）"
        )
    return lines


class _Base:
    kind: ClassVar[str]
    label_ja: ClassVar[str]
    label_en: ClassVar[str]

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        # The cleaned fields are exactly what commit() writes.
        return dict(procedure.fields)

    def receipt_url(self, completion: Completion) -> str | None:
        return reverse("benefits:receipt", args=[completion.pk])


# --- point application -------------------------------------------------------------------------


class PointApplicationForm(forms.Form):
    programme = forms.CharField(initial=NATIONAL_PROGRAMME, widget=forms.HiddenInput)
    provider = forms.ChoiceField(label="決済サービス", choices=())
    payment_service_id = forms.CharField(label="決済サービスID", max_length=40)
    security_code = forms.CharField(
        label="セキュリティコード", max_length=8, widget=forms.PasswordInput
    )
    resident_kana = forms.CharField(
        label="ご本人のお名前（フリガナ）", max_length=100, required=False
    )
    resident_kana_confirmed = forms.BooleanField(
        label="ご本人がフリガナを確認しました", required=False
    )
    confirm_close_match = forms.BooleanField(label="ご本人が口座名義を確認しました", required=False)
    use_representative_exception = forms.BooleanField(
        label="未成年者が法定代理人の口座を使う（例外）", required=False
    )
    resident_birth_date = forms.DateField(label="ご本人の生年月日", required=False)
    resident_name = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider_field: Any = self.fields["provider"]
        provider_field.choices = [
            (p.code, p.display_name_ja) for p in Provider.objects.filter(is_active=True)
        ]


class PointApplication(_Base):
    kind: ClassVar[str] = "point_application"
    label_ja: ClassVar[str] = "マイナポイントの申込（決済サービスの紐付け）"
    label_en: ClassVar[str] = "Point application (payment service link)"
    form_class = PointApplicationForm

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        programme, version = _open_version(str(fields.get("programme") or NATIONAL_PROGRAMME))
        code = str(fields.get("provider", ""))
        provider = Provider.objects.filter(code=code, is_active=True).first()
        systems = outside.systems()
        if provider is None or code not in systems.providers:
            raise ProcedureInvalid(
                "provider_unknown",
                _("Unknown payment provider."),
                field="provider",
            )
        existing = (
            PaymentLink.objects.filter(
                holder=visit.holder,
                programme=programme,
                status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED],
            )
            .select_related("provider")
            .first()
        )
        if existing is not None:
            raise ProcedureInvalid(
                "holder_already_linked",
                _(
                    "This resident has already linked %(provider)s (%(account)s) for this "
                    "programme; the payment service cannot be changed (a mistake is put right "
                    "through a remediation case)."
                ),
                field="provider",
                params={
                    "provider": ByLanguage(
                        existing.provider.display_name_ja, existing.provider.display_name_en
                    ),
                    "account": existing.masked_account,
                },
            )
        psid = str(fields.get("payment_service_id", ""))
        sec = str(fields.get("security_code", ""))
        if not psid.strip():
            raise ProcedureInvalid(
                message=_("Enter the payment service ID."), field="payment_service_id"
            )
        if not sec.strip():
            raise ProcedureInvalid(message=_("Enter the security code."), field="security_code")
        kana, source = services.resident_kana(visit, fields)
        what = {"procedure": self.kind, "provider": code, "account_last4": identifiers.last4(psid)}
        try:
            account = systems.providers.get(code).verify(psid, sec)
            account.ensure_active()
        except OutsideError as exc:
            raise services.outside_failure(visit, exc, what, "payment_service_id") from exc
        account_hash = identifiers.identifier_hash(validation.payment_service_id(psid))
        taken = PaymentLink.objects.filter(
            provider=provider, account_hash=account_hash, status=LinkStatus.EFFECTIVE
        )
        if (
            taken.filter(programme=programme).exists()
            or taken.exclude(holder=visit.holder).exists()
        ):
            incident_record(
                kind=IncidentKind.NAME_CHECK,
                reason_code="account_already_linked",
                severity=Severity.HIGH,
                summary="A payment account already linked to a resident was presented again; "
                "nothing was linked.",
                visit=visit,
                terminal=visit.terminal,
                staff=visit.staff,
                detail=what,
            )
            raise ProcedureInvalid(
                "account_already_linked",
                _("This payment account is already linked."),
                field="payment_service_id",
            )
        name = services.name_decide(
            visit,
            kana=kana,
            kana_source=source,
            account_kana=account.holder_name_kana,
            fields=fields,
            what=what,
        )
        return {
            "programme": programme.code,
            "programme_version": version.number,
            "programme_name": version.name_ja,
            "provider": provider.code,
            "provider_name": provider.display_name_ja,
            "account": identifiers.masked(identifiers.last4(psid)),
            "account_hash": account_hash,
            "account_last4": identifiers.last4(psid),
            "account_ref": account.account_ref,
            "points": [services.category_points_text(c) for c in version.categories],
            "resident_name": _resident_name(fields),
            **name,
        }

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        return [
            f"{f['programme_name']}の申込",
            f"決済サービス: {f['provider_name']} {f['account']}",
            *_name_lines(f),
            *[f"ポイント: {p}" for p in f["points"]],
        ]

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        f = procedure.fields
        visit = procedure.visit
        programme = Programme.objects.get(code=f["programme"])
        version = ProgrammeVersion.objects.get(programme=programme, number=f["programme_version"])
        provider = Provider.objects.get(code=f["provider"])
        try:
            with transaction.atomic():
                link = PaymentLink.objects.create(
                    holder=visit.holder,
                    visit=visit,
                    procedure=procedure,
                    completion=completion,
                    programme=programme,
                    programme_version=version,
                    provider=provider,
                    account_hash=f["account_hash"],
                    account_last4=f["account_last4"],
                    account_ref=f["account_ref"],
                    **services.name_fields_for_row(f),
                )
        except IntegrityError as exc:
            raise services.BenefitsRefused(
                "account_already_linked",
                _(
                    "The account (or this resident's link) was linked at another desk first; nothing was committed."
                ),
            ) from exc
        previous = (
            PaymentLink.objects.filter(
                holder=visit.holder,
                programme=programme,
                status=LinkStatus.REPLACED,
                replaced_by__isnull=True,
            )
            .exclude(pk=link.pk)
            .first()
        )
        if previous is not None:
            previous.replaced_by = link
            previous.save(update_fields=["replaced_by"])
        audit.record(
            BENEFITS_LINK_CREATED,
            actor=visit.staff,
            terminal=visit.terminal,
            subject=link,
            payload={
                "provider": provider.code,
                "account": link.masked_account,
                "visit": visit.reference,
                "name_outcome": f["name_outcome"],
                "name_reason": f["name_reason"],
                "exception": f["name_exception"],
            },
        )
        services.grants_evaluate(visit.holder, actor=visit.staff, completion=completion)


# --- public-fund receiving account -------------------------------------------------------------


class PublicFundForm(forms.Form):
    bank_code = forms.CharField(label="金融機関コード", max_length=4)
    branch_code = forms.CharField(label="支店コード", max_length=3)
    account_type = forms.ChoiceField(
        label="預金種目", choices=[(t.value, t.label_ja) for t in BankAccountType]
    )
    account_number = forms.CharField(label="口座番号", max_length=7)
    resident_kana = forms.CharField(
        label="ご本人のお名前（フリガナ）", max_length=100, required=False
    )
    resident_kana_confirmed = forms.BooleanField(
        label="ご本人がフリガナを確認しました", required=False
    )
    confirm_close_match = forms.BooleanField(label="ご本人が口座名義を確認しました", required=False)
    use_representative_exception = forms.BooleanField(
        label="未成年者が法定代理人の口座を使う（例外）", required=False
    )
    resident_birth_date = forms.DateField(label="ご本人の生年月日", required=False)
    resident_name = forms.CharField(widget=forms.HiddenInput, required=False)


class PublicFundRegistration(_Base):
    kind: ClassVar[str] = "public_fund_account"
    label_ja: ClassVar[str] = "公金受取口座の登録"
    label_en: ClassVar[str] = "Public-fund receiving account registration"
    form_class = PublicFundForm

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        if PublicFundAccount.objects.filter(
            holder=visit.holder, status=LinkStatus.EFFECTIVE
        ).exists():
            raise ProcedureInvalid(
                "public_fund_exists",
                _("A public-fund account is already registered for this resident."),
                field="account_number",
            )
        raw = {
            k: str(fields.get(k, ""))
            for k in ("bank_code", "branch_code", "account_type", "account_number")
        }
        kana, source = services.resident_kana(visit, fields)
        what = {
            "procedure": self.kind,
            "bank": raw["bank_code"],
            "account_last4": raw["account_number"][-4:],
        }
        try:
            bank = outside.systems().bank.lookup_account(
                raw["bank_code"], raw["branch_code"], raw["account_type"], raw["account_number"]
            )
            bank.ensure_active()
            number = validation.account_number(raw["account_number"])
        except OutsideError as exc:
            raise services.outside_failure(visit, exc, what, "account_number") from exc
        ident = identifiers.bank_account_identifier(
            bank.bank_code, bank.branch_code, str(bank.account_type), number
        )
        account_hash = identifiers.identifier_hash(ident)
        name = services.name_decide(
            visit,
            kana=kana,
            kana_source=source,
            account_kana=bank.holder_name_kana,
            fields=fields,
            what=what,
        )
        if (
            not name["name_exception"]
            and PublicFundAccount.objects.filter(
                account_hash=account_hash, status=LinkStatus.EFFECTIVE, name_exception=""
            ).exists()
        ):
            raise ProcedureInvalid(
                "account_already_linked",
                _("This bank account is already another resident's public-fund account."),
                field="account_number",
            )
        return {
            "bank_code": bank.bank_code,
            "bank_name": bank.bank_name,
            "branch_code": bank.branch_code,
            "branch_name": bank.branch_name,
            "account_type": str(bank.account_type),
            "account": identifiers.masked(number[-4:]),
            "account_hash": account_hash,
            "account_last4": number[-4:],
            "resident_name": _resident_name(fields),
            **name,
        }

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        type_ja = BankAccountType(f["account_type"]).label_ja
        return [
            "公金受取口座の登録",
            f"口座: {f['bank_name']} {f['branch_name']} {type_ja} {f['account']}",
            *_name_lines(f),
        ]

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        f = procedure.fields
        visit = procedure.visit
        try:
            with transaction.atomic():
                row = PublicFundAccount.objects.create(
                    holder=visit.holder,
                    visit=visit,
                    procedure=procedure,
                    completion=completion,
                    bank_code=f["bank_code"],
                    bank_name=f["bank_name"],
                    branch_code=f["branch_code"],
                    branch_name=f["branch_name"],
                    account_type=f["account_type"],
                    account_hash=f["account_hash"],
                    account_last4=f["account_last4"],
                    **services.name_fields_for_row(f),
                )
        except IntegrityError as exc:
            raise services.BenefitsRefused(
                "account_already_linked",
                _("The account was registered at another desk first; nothing was committed."),
            ) from exc
        audit.record(
            BENEFITS_PUBLIC_FUND_REGISTERED,
            actor=visit.staff,
            terminal=visit.terminal,
            subject=row,
            payload={
                "bank": f["bank_code"],
                "last4": f["account_last4"],
                "visit": visit.reference,
                "name_outcome": f["name_outcome"],
                "name_reason": f["name_reason"],
            },
        )
        services.grants_evaluate(visit.holder, actor=visit.staff, completion=completion)


# --- health-insurance use registration ---------------------------------------------------------


class HealthInsuranceForm(forms.Form):
    insurer_number = forms.CharField(label="保険者番号", max_length=8)
    insured_symbol = forms.CharField(label="記号", max_length=20)
    insured_number = forms.CharField(label="番号", max_length=20)
    branch = forms.CharField(label="枝番", max_length=2)
    resident_name = forms.CharField(widget=forms.HiddenInput, required=False)


class HealthInsuranceUse(_Base):
    """Registered at the insurer only after the resident's card has signed (in commit, with
    the procedure's id as idempotency key, bound to the visit's certificate)."""

    kind: ClassVar[str] = "health_insurance_use"
    label_ja: ClassVar[str] = "健康保険証としての利用登録"
    label_en: ClassVar[str] = "Health-insurance use registration"
    form_class = HealthInsuranceForm

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        if HealthInsuranceRegistration.objects.filter(
            holder=visit.holder, status=LinkStatus.EFFECTIVE
        ).exists():
            raise ProcedureInvalid(
                "health_insurance_exists",
                _("Health-insurance use is already registered for this resident."),
                field="insurer_number",
            )
        try:
            insurer = validation.insurer_number(str(fields.get("insurer_number", "")))
            symbol = validation.insured_symbol(str(fields.get("insured_symbol", "")))
            number = validation.insured_number(str(fields.get("insured_number", "")))
            branch = validation.insured_branch(str(fields.get("branch", "")))
        except OutsideError as exc:
            raise ProcedureInvalid.carrying(
                exc.code, ja=exc.message_ja, en=exc.message_en, field="insured_number"
            ) from exc
        ident = identifiers.insured_identifier(insurer, symbol, number, branch)
        return {
            "insurer_number": insurer,
            "insured": identifiers.masked(number[-4:]),
            "insured_hash": identifiers.identifier_hash(ident),
            "insured_last4": number[-4:],
            # The insurer needs the numbers themselves; they are kept only until the commit
            # and removed from the stored fields once registered (see commit).
            "_insured": {"symbol": symbol, "number": number, "branch": branch},
            "certificate": visit.certificate.fingerprint,
            "resident_name": _resident_name(fields),
        }

    def transaction_entry(self, procedure: Procedure) -> dict[str, Any]:
        return {k: v for k, v in procedure.fields.items() if not k.startswith("_")}

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        return [
            "健康保険証としての利用登録",
            f"保険者番号: {f['insurer_number']}　被保険者番号: {f['insured']}",
        ]

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        f = procedure.fields
        visit = procedure.visit
        secret = f.get("_insured") or {}
        try:
            reg = outside.systems().insurer.register_use(
                f["insurer_number"],
                secret.get("symbol", ""),
                secret.get("number", ""),
                secret.get("branch", ""),
                f["certificate"],
                idempotency_key=f"madoguchi-hi:{procedure.pk}",
            )
        except OutsideError as exc:
            raise services.BenefitsRefused.carrying(
                exc.code, ja=exc.message_ja, en=exc.message_en
            ) from exc
        row = HealthInsuranceRegistration.objects.create(
            holder=visit.holder,
            visit=visit,
            procedure=procedure,
            completion=completion,
            insurer_number=f["insurer_number"],
            insured_hash=f["insured_hash"],
            insured_last4=f["insured_last4"],
            registration_ref=reg.registration_ref,
            insurer_status=str(reg.status),
            insured_name_kana=reg.insured_name_kana or "",
        )
        # Drop the insured numbers from the stored procedure (the signed bytes never had them).
        procedure.fields = {k: v for k, v in f.items() if not k.startswith("_")}
        procedure.save(update_fields=["fields"])
        audit.record(
            BENEFITS_HEALTH_INSURANCE_REGISTERED,
            actor=visit.staff,
            terminal=visit.terminal,
            subject=row,
            payload={
                "insurer": f["insurer_number"],
                "visit": visit.reference,
                "status": str(reg.status),
            },
        )
        services.grants_evaluate(visit.holder, actor=visit.staff, completion=completion)


POINT_APPLICATION = desk_procedures.register(PointApplication())
PUBLIC_FUND = desk_procedures.register(PublicFundRegistration())
HEALTH_INSURANCE = desk_procedures.register(HealthInsuranceUse())

__all__ = ["CategoryKind", "HealthInsuranceForm", "PointApplicationForm", "PublicFundForm"]
