"""The public-fund receiving account registration."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.desk.models import Completion, Procedure, Visit
from madoguchi.desk.procedures import ProcedureInvalid
from madoguchi.outside import BankAccountType, OutsideError, validation

from .. import identifiers, outside, services
from ..constants import LinkStatus
from ..events import (
    BENEFITS_PUBLIC_FUND_REGISTERED,
)
from ..models import (
    PublicFundAccount,
)
from .common import NameCheckFields, ProcedureBase, name_lines, resident_name_of, typed_field

# --- public-fund receiving account -------------------------------------------------------------


# The deposit types in the page's language (普通, 当座, 貯蓄 as `BankAccountType.label_ja`).
ACCOUNT_TYPES = [
    (BankAccountType.ORDINARY.value, _("Ordinary")),
    (BankAccountType.CURRENT.value, _("Current")),
    (BankAccountType.SAVINGS.value, _("Savings")),
]


def _bank_named(typed: str) -> str:
    """The bank code an incident of this procedure names: the one typed when it is a bank code
    (4 digits), else none. The incident is shown on the officials' pages and in the daily
    report, so it does not keep what was typed in its place (an individual number, 5,000
    characters)."""
    try:
        return validation.bank_code(typed)
    except OutsideError:
        return ""


def _typed_account(raw: dict[str, str]) -> tuple[str, str, str, str]:
    """The bank code, branch code, deposit type and account number typed, as a transfer uses
    them (a ゆうちょ passbook's 記号 and 番号 converted). What cannot be a bank account (a
    4-digit branch code, an 8-digit number, a 記号 and 番号 that cannot be one) is a slip of
    the keys, refused beside its field before the bank is asked (`typed_field`): no incident."""
    bank = typed_field("bank_code", raw["bank_code"], validation.bank_code)
    kind = typed_field("account_type", raw["account_type"], validation.account_type)
    branch, number = typed_field(
        "branch_code",
        raw["branch_code"],
        lambda symbol: validation.japan_post_bank_account(
            bank, symbol, kind, raw["account_number"]
        ),
    )
    return (
        bank,
        typed_field("branch_code", branch, validation.branch_code),
        kind,
        typed_field("account_number", number, validation.account_number),
    )


def _passbook(raw: dict[str, str], bank_code: str) -> dict[str, str]:
    """A ゆうちょ銀行 account typed as its passbook reads (記号 and 番号): the 記号 and the
    番号's last 4, so that the lines the resident signs show the account as their passbook
    does, beside the branch and number a transfer uses (＊＊＊＊5432 for the 番号 87654321:
    the resident read a last 4 their passbook does not show). Nothing for any other account."""
    symbol = identifiers.normalise(raw["branch_code"])
    if bank_code != validation.JAPAN_POST_BANK or len(symbol) != 5 or not symbol.isdigit():
        return {}
    return {"passbook_symbol": symbol, "passbook_last4": identifiers.last4(raw["account_number"])}


def branch_code_field() -> forms.CharField:
    """A bank account's branch code, or ゆうちょ銀行's 記号 in its place (this form's, and a
    public-fund case's forms')."""
    return forms.CharField(
        label=_("Branch code"),
        max_length=5,
        help_text=_("Japan Post Bank (9900): the passbook's 記号 (5 digits) may be typed here."),
    )


class PublicFundForm(NameCheckFields):
    field_order = ["bank_code", "branch_code", "account_type", "account_number"]
    bank_code = forms.CharField(label=_("Bank code"), max_length=4)
    # ゆうちょ銀行 (9900): the passbook's 記号 (5 digits) and 番号 (up to 8) are taken too and
    # turned into the branch and account number (`validation.japan_post_bank_account`).
    branch_code = branch_code_field()
    account_type = forms.ChoiceField(label=_("Account type"), choices=ACCOUNT_TYPES)
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=8,
        help_text=_(
            "Japan Post Bank (9900): the passbook's 番号 (up to 8 digits) may be typed here."
        ),
    )


class PublicFundRegistration(ProcedureBase):
    kind: ClassVar[str] = "public_fund_account"
    label_ja: ClassVar[str] = "公金受取口座の登録"
    label_en: ClassVar[str] = "Public-fund receiving account registration"
    form_class = PublicFundForm

    @staticmethod
    def one_per_visit(fields: dict[str, Any]) -> str:
        """One registration per resident (`desk.procedures`): a second in one visit is refused
        at prepare, not after the resident's PIN."""
        return "public_fund"

    def clean(self, visit: Visit, fields: dict[str, Any]) -> dict[str, Any]:
        resident_name = resident_name_of(visit, fields)  # before any outside look-up
        held = set(
            PublicFundAccount.objects.filter(
                holder=visit.holder, status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED]
            ).values_list("status", flat=True)
        )
        if LinkStatus.EFFECTIVE in held:
            raise ProcedureInvalid(
                "public_fund_exists",
                _(
                    "A public-fund account is already registered for this resident; it cannot be "
                    "registered again or changed here (a mistake is put right through a "
                    "remediation case)."
                ),
                field="account_number",
            )
        if held:
            raise ProcedureInvalid(
                "public_fund_suspended",
                _(
                    "This resident's public-fund account registration is suspended by a "
                    "remediation case; they can register an account again once a city official "
                    "re-enables it in the case."
                ),
                field="account_number",
            )
        raw = {
            k: str(fields.get(k, ""))
            for k in ("bank_code", "branch_code", "account_type", "account_number")
        }
        kana, source = services.resident_kana(visit, fields)
        what = {
            "procedure": self.kind,
            "bank": _bank_named(raw["bank_code"]),
            "account_last4": identifiers.last4(raw["account_number"]),
        }
        bank_code, branch, account_type, number = _typed_account(raw)
        try:
            bank = outside.systems().bank.lookup_account(bank_code, branch, account_type, number)
            bank.ensure_active()
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
            "account": identifiers.masked(identifiers.last4(number)),
            "account_hash": account_hash,
            "account_last4": identifiers.last4(number),
            **_passbook(raw, bank_code),
            "resident_name": resident_name,
            **name,
        }

    def display_lines(self, procedure: Procedure) -> list[str]:
        f = procedure.fields
        type_ja = BankAccountType(f["account_type"]).label_ja
        account = f"口座: {f['bank_name']} {f['branch_name']} {type_ja} {f['account']}"
        if f.get("passbook_symbol"):
            account += (
                f"（通帳の記号 {f['passbook_symbol']}・番号 "
                f"{identifiers.masked(f.get('passbook_last4', ''))}）"
            )
        return ["公金受取口座の登録", account, *name_lines(f)]

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
