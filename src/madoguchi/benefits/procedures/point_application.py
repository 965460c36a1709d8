"""The point application: a payment service linked after the name check."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.services import incident_record
from madoguchi.outside import OutsideError, validation
from madoguchi.refusals import ByLanguage

from .. import identifiers, outlook, outside, services
from ..constants import NATIONAL_PROGRAMME, LinkStatus
from ..events import (
    BENEFITS_LINK_CREATED,
)
from ..models import (
    PaymentLink,
    Programme,
    ProgrammeVersion,
    Provider,
)
from .common import (
    NameCheckFields,
    ProcedureBase,
    name_lines,
    open_version,
    refuse_another_citys_programme,
    refuse_outside_window,
    resident_name_of,
    typed_field,
)

# --- point application -------------------------------------------------------------------------


class PointApplicationForm(NameCheckFields):
    field_order = ["programme", "provider", "payment_service_id", "security_code"]
    programme = forms.CharField(initial=NATIONAL_PROGRAMME, widget=forms.HiddenInput)
    provider = forms.ChoiceField(label=_("Payment service"), choices=())
    payment_service_id = forms.CharField(label=_("Payment service ID"), max_length=40)
    security_code = forms.CharField(
        label=_("Security code"),
        max_length=8,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        provider_field: Any = self.fields["provider"]
        provider_field.choices = [
            (p.code, p.display_name) for p in Provider.objects.filter(is_active=True)
        ]


class PointApplication(ProcedureBase):
    kind: ClassVar[str] = "point_application"
    label_ja: ClassVar[str] = "マイナポイントの申込（決済サービスの紐付け）"
    label_en: ClassVar[str] = "Point application (payment service link)"
    form_class = PointApplicationForm

    @staticmethod
    def one_per_visit(fields: dict[str, Any]) -> str:
        """One link per resident and programme (`desk.procedures`): a second application to
        the same programme in one visit is refused at prepare; another programme's (a city's
        add-on) is not."""
        return str(fields.get("programme") or NATIONAL_PROGRAMME)

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        resident_name = resident_name_of(visit, fields)  # before any outside look-up
        programme, version = open_version(str(fields.get("programme") or NATIONAL_PROGRAMME))
        refuse_another_citys_programme(visit, programme)
        provider = self._provider(str(fields.get("provider", "")))
        self._refuse_second_link(visit, programme)
        psid, sec = self._entered_account(fields)
        kana, source = services.resident_kana(visit, fields)
        what = {
            "procedure": self.kind,
            "provider": provider.code,
            "account_last4": identifiers.last4(psid),
        }
        try:
            account = outside.systems().providers.get(provider.code).verify(psid, sec)
            account.ensure_active()
        except OutsideError as exc:
            raise services.outside_failure(visit, exc, what, "payment_service_id") from exc
        account_hash = identifiers.identifier_hash(validation.payment_service_id(psid))
        self._refuse_linked_account(visit, provider, programme, account_hash, what)
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
            "resident_name": resident_name,
            **name,
        }

    @staticmethod
    def _provider(code: str) -> Provider:
        """An active provider this installation has an outside-system adapter for."""
        provider = Provider.objects.filter(code=code, is_active=True).first()
        if provider is None or code not in outside.systems().providers:
            raise ProcedureInvalid(
                "provider_unknown", _("Unknown payment provider."), field="provider"
            )
        return provider

    @staticmethod
    def _refuse_second_link(visit: Visit, programme: Programme) -> None:
        """One payment service per resident per programme (a mistake goes through a case)."""
        existing = (
            PaymentLink.objects.filter(
                holder=visit.holder,
                programme=programme,
                status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED],
            )
            .select_related("provider")
            .first()
        )
        if existing is None:
            return
        params = {
            "provider": ByLanguage(
                existing.provider.display_name_ja, existing.provider.display_name_en
            ),
            "account": existing.masked_account,
        }
        if existing.status == LinkStatus.SUSPENDED:
            raise ProcedureInvalid(
                "link_suspended",
                _(
                    "This resident's link for this programme (%(provider)s, %(account)s) is "
                    "suspended by a remediation case; they can link a payment service again once "
                    "a city official re-enables it in the case."
                ),
                field="provider",
                params=params,
            )
        raise ProcedureInvalid(
            "holder_already_linked",
            _(
                "This resident has already linked %(provider)s (%(account)s) for this "
                "programme; the payment service cannot be changed (a mistake is put right "
                "through a remediation case)."
            ),
            field="provider",
            params=params,
        )

    @staticmethod
    def _entered_account(fields: dict[str, Any]) -> tuple[str, str]:
        """The payment service ID and security code as entered (both required), normalised;
        one that cannot be either is refused beside its field before the provider is asked."""
        psid = str(fields.get("payment_service_id", ""))
        sec = str(fields.get("security_code", ""))
        if not psid.strip():
            raise ProcedureInvalid(
                message=_("Enter the payment service ID."), field="payment_service_id"
            )
        if not sec.strip():
            raise ProcedureInvalid(message=_("Enter the security code."), field="security_code")
        return (
            typed_field("payment_service_id", psid, validation.payment_service_id),
            typed_field("security_code", sec, validation.security_code),
        )

    @staticmethod
    def _refuse_linked_account(
        visit: Visit,
        provider: Provider,
        programme: Programme,
        account_hash: str,
        what: dict[str, Any],
    ) -> None:
        """An account already linked (to anyone for this programme, or to someone else) is
        refused, with a NAME_CHECK incident."""
        taken = PaymentLink.objects.filter(
            provider=provider, account_hash=account_hash, status=LinkStatus.EFFECTIVE
        )
        if (
            taken.filter(programme=programme).exists()
            or taken.exclude(holder=visit.holder).exists()
        ):
            summary, text = incident_text.sentence(incident_text.ACCOUNT_ALREADY_LINKED)
            incident_record(
                kind=IncidentKind.NAME_CHECK,
                reason_code="account_already_linked",
                severity=Severity.HIGH,
                summary=summary,
                visit=visit,
                terminal=visit.terminal,
                staff=visit.staff,
                detail={**what, "text": text},
            )
            raise ProcedureInvalid(
                "account_already_linked",
                _("This payment account is already linked."),
                field="payment_service_id",
            )

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        return [
            f"{f['programme_name']}の申込",
            f"決済サービス: {f['provider_name']} {f['account']}",
            *name_lines(f),
            *outlook.procedure_lines(procedure),
        ]

    @staticmethod
    def _linked_first() -> services.BenefitsRefused:
        return services.BenefitsRefused(
            "account_already_linked",
            _(
                "The account (or this resident's link) was linked at another desk first; nothing was committed."
            ),
        )

    def recheck(self, procedure: Procedure) -> None:
        """The signed transaction changed under this completion: if the account (or this
        resident's link in the programme) was linked at another desk meanwhile, say so."""
        f = procedure.fields
        taken = PaymentLink.objects.filter(
            provider__code=f["provider"],
            account_hash=f["account_hash"],
            status=LinkStatus.EFFECTIVE,
        )
        mine = PaymentLink.objects.filter(
            holder=procedure.visit.holder,
            programme__code=f["programme"],
            status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED],
        )
        if (
            taken.filter(programme__code=f["programme"]).exists()
            or taken.exclude(holder=procedure.visit.holder).exists()
            or mine.exists()
        ):
            raise self._linked_first()

    def commit(self, procedure: Procedure, completion: Completion) -> None:
        f = procedure.fields
        visit = procedure.visit
        programme = Programme.objects.get(code=f["programme"])
        version = ProgrammeVersion.objects.get(programme=programme, number=f["programme_version"])
        refuse_outside_window(version)  # as signed: the window may have closed since prepare
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
            raise self._linked_first() from exc
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
