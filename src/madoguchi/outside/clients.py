"""HTTP adapters for the three outside systems, speaking the simulators' JSON API.

A real provider, bank or insurer with a different API gets its own adapter class that
implements the same Protocol (interfaces.py) and raises the same errors (errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx

from madoguchi.outside import validation
from madoguchi.outside.errors import (
    InvalidRequest,
    OutsideProtocolError,
    OutsideValueUnusable,
    System,
)
from madoguchi.outside.interfaces import (
    AccountStatus,
    BankAccount,
    BankAccountType,
    InsuranceCancellation,
    InsuranceRegistration,
    InsuredPerson,
    InsurerRecord,
    PayoutItem,
    PayoutItemResult,
    PayoutItemStatus,
    PayoutResult,
    ProviderAccount,
    RegistrationStatus,
)
from madoguchi.outside.transport import ClientConfig, JsonClient, JsonResponse

if TYPE_CHECKING:
    from madoguchi.outside.registry import ProviderInfo

_BATCH_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")

# What each kept value is, in the refusal's words.
_KEPT_LABELS = {
    "holder_name_kana": ("口座名義", "an account holder's name"),
    "insured_name_kana": ("被保険者のお名前（カナ）", "an insured person's kana name"),
    "insured_name": ("被保険者のお名前", "an insured person's name"),
    "bank_name": ("金融機関名", "a bank name"),
    "branch_name": ("支店名", "a branch name"),
    "account_ref": ("口座の参照番号", "an account reference"),
    "registration_ref": ("利用登録の参照番号", "a registration reference"),
}


E = TypeVar("E", bound=StrEnum)


# Every reference, name and time an outside system answers is kept in a column of at most
# `validation.KEPT_LENGTH` characters: a text longer, or carrying a control character
# (PostgreSQL refuses NUL), is an answer not understood (`_Fields.text`), or one refused as
# unusable, naming it (`_Fields.kept`), never a database error after the outside call
# succeeded.


class _Fields:
    """Reads a JSON answer; anything missing, mistyped, over-long or carrying a control
    character is a protocol error, not a crash."""

    def __init__(self, client: JsonClient, data: dict[str, Any]) -> None:
        self._client = client
        self._data = data

    def fail(self) -> OutsideProtocolError:
        return OutsideProtocolError(
            system=self._client.system,
            system_name_ja=self._client.system_name_ja,
            system_name_en=self._client.system_name_en,
        )

    def text(self, key: str) -> str:
        return self._fits(self._str(key))

    def opt_text(self, key: str) -> str | None:
        value = self._opt_str(key)
        return None if value is None else self._fits(value) or None

    def _str(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail()
        return value

    def _opt_str(self, key: str) -> str | None:
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail()
        return value

    def _fits(self, value: str) -> str:
        if validation.unkeepable(value) is not None:
            raise self.fail()
        return value

    def kept(self, key: str) -> str:
        """`text`, for a value our records keep (a reference): refused as unusable when it
        holds a control character or is longer than our column."""
        return self._keepable(key, self._str(key))

    def opt_kept(self, key: str) -> str | None:
        """`opt_text`, for a value our records keep (a name): compared, signed and stored
        only when it can be, else refused as unusable, saying which value and why."""
        value = self._opt_str(key)
        return None if not value else self._keepable(key, value)

    def _keepable(self, key: str, value: str) -> str:
        label_ja, label_en = _KEPT_LABELS[key]
        why = validation.unkeepable(value)
        if why is None:
            return value
        most = validation.KEPT_LENGTH
        if why == "control":
            detail_ja = f"{label_ja}に制御文字（NUL・改行など）が含まれている"
            detail_en = f"{label_en} containing a control character (NUL, a line break …)"
        else:
            detail_ja = f"{label_ja}が{len(value)}文字あり、{most}文字を超えている"
            detail_en = f"{label_en} of {len(value)} characters (at most {most} are held)"
        raise OutsideValueUnusable(
            system=self._client.system,
            system_name_ja=self._client.system_name_ja,
            system_name_en=self._client.system_name_en,
            detail_ja=detail_ja,
            detail_en=detail_en,
        )

    def integer(self, key: str) -> int:
        value = self._data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.fail()
        return value

    def objects(self, key: str) -> list[dict[str, Any]]:
        value = self._data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail()
        return value

    def choice(self, key: str, kind: type[E]) -> E:
        try:
            return kind(self.text(key))
        except ValueError:
            raise self.fail() from None

    def sub(self, data: dict[str, Any]) -> _Fields:
        return _Fields(self._client, data)


def _path_part(value: str) -> str:
    return quote(value, safe="")


class _HttpSystem:
    """An outside system over its simulator's JSON API: one `JsonClient` for `system`, closed
    with `close()`. `system_name_ja`/`_en`: the name its refusals give it, when not the
    system's own (a payment provider's display name)."""

    system: System

    def __init__(
        self,
        base_url: str,
        *,
        system_name_ja: str | None = None,
        system_name_en: str | None = None,
        config: ClientConfig | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.client = JsonClient(
            base_url,
            system=self.system,
            system_name_ja=system_name_ja,
            system_name_en=system_name_en,
            config=config,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()


class HttpPaymentProvider(_HttpSystem):
    """PaymentProvider over the simulator's provider API (`{base_url}/v1/...`)."""

    system = System.PAYMENT_PROVIDER

    def __init__(
        self,
        base_url: str,
        *,
        code: str = "",
        display_name_ja: str | None = None,
        display_name_en: str | None = None,
        config: ClientConfig | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.code = code
        super().__init__(
            base_url,
            system_name_ja=display_name_ja,
            system_name_en=display_name_en,
            config=config,
            transport=transport,
        )

    def _account(self, response: JsonResponse) -> ProviderAccount:
        f = _Fields(self.client, response.data)
        return ProviderAccount(
            account_ref=f.kept("account_ref"),
            holder_name_kana=f.opt_kept("holder_name_kana"),
            status=f.choice("status", AccountStatus),
            provider_code=self.code,
        )

    def verify(self, payment_service_id: str, security_code: str) -> ProviderAccount:
        body = {
            "payment_service_id": validation.payment_service_id(payment_service_id),
            "security_code": validation.security_code(security_code),
        }
        return self._account(self.client.post("/v1/accounts/verify", body))

    def account(self, account_ref: str) -> ProviderAccount:
        return self._account(self.client.get(f"/v1/accounts/{_path_part(account_ref)}"))

    def suspend(
        self, account_ref: str, *, reason: str = "", idempotency_key: str | None = None
    ) -> ProviderAccount:
        response = self.client.post(
            f"/v1/accounts/{_path_part(account_ref)}/suspend",
            {"reason": reason},
            idempotency_key=idempotency_key,
        )
        return self._account(response)

    def payout(
        self, batch_id: str, items: Sequence[PayoutItem], *, idempotency_key: str | None = None
    ) -> PayoutResult:
        _check_batch(batch_id, items)
        body = {
            "batch_id": batch_id,
            "items": [
                {"item_id": i.item_id, "account_ref": i.account_ref, "points": i.points}
                for i in items
            ],
        }
        # The batch id is the natural key: a retry of the same batch, even from a new process,
        # is recognised by the provider.
        response = self.client.post(
            "/v1/payouts", body, idempotency_key=idempotency_key or f"payout:{batch_id}"
        )
        f = _Fields(self.client, response.data)
        results = []
        for raw in f.objects("items"):
            g = f.sub(raw)
            results.append(
                PayoutItemResult(
                    item_id=g.text("item_id"),
                    account_ref=g.text("account_ref"),
                    points=g.integer("points"),
                    status=g.choice("status", PayoutItemStatus),
                    reason=g.opt_text("reason"),
                )
            )
        return PayoutResult(
            batch_id=f.text("batch_id"),
            payout_ref=f.text("payout_ref"),
            accepted_at=f.text("accepted_at"),
            items=tuple(results),
            replayed=response.replayed or bool(response.data.get("replayed", False)),
        )


def _check_batch(batch_id: str, items: Sequence[PayoutItem]) -> None:
    problem: tuple[str, str] | None = None
    if not _BATCH_ID.fullmatch(batch_id):
        problem = (
            "バッチIDは英数字と _ . : - の1〜64文字です",
            "a batch id is 1 to 64 of A-Z a-z 0-9 _ . : -",
        )
    elif not items:
        problem = ("支払明細がありません", "a payout batch needs at least one item")
    elif len({i.item_id for i in items}) != len(items):
        problem = ("明細IDが重複しています", "item ids repeat within the batch")
    elif any(
        isinstance(i.points, bool) or not isinstance(i.points, int) or i.points <= 0 for i in items
    ):
        problem = ("ポイント数は正の整数です", "points must be a positive whole number")
    if problem:
        raise InvalidRequest(
            system=System.PAYMENT_PROVIDER, detail_ja=problem[0], detail_en=problem[1]
        )


class HttpBank(_HttpSystem):
    """Bank over the simulator's bank API."""

    system = System.BANK

    def lookup_account(
        self,
        bank_code: str,
        branch_code: str,
        account_type: BankAccountType | str,
        account_number: str,
    ) -> BankAccount:
        kind = BankAccountType(validation.account_type(account_type))
        number = validation.account_number(account_number)
        body = {
            "bank_code": validation.bank_code(bank_code),
            "branch_code": validation.branch_code(branch_code),
            "account_type": kind.value,
            "account_number": number,
        }
        # A lookup changes nothing, but it carries an account number: POST keeps it out of URLs
        # and access logs.
        response = self.client.post("/v1/accounts/lookup", body)
        f = _Fields(self.client, response.data)
        return BankAccount(
            bank_code=body["bank_code"],
            branch_code=body["branch_code"],
            account_type=kind,
            account_number_last4=number[-4:],
            holder_name_kana=f.opt_kept("holder_name_kana"),
            status=f.choice("status", AccountStatus),
            bank_name=f.opt_kept("bank_name") or "",
            branch_name=f.opt_kept("branch_name") or "",
        )


class HttpInsurer(_HttpSystem):
    """Insurer over the simulator's insurer API."""

    system = System.INSURER

    def register_use(
        self,
        insurer_number: str,
        insured_symbol: str,
        insured_number: str,
        branch: str,
        card_cert_fingerprint: str,
        *,
        idempotency_key: str | None = None,
        request_ref: str | None = None,
    ) -> InsuranceRegistration:
        body = {
            "insurer_number": validation.insurer_number(insurer_number),
            "insured_symbol": validation.insured_symbol(insured_symbol),
            "insured_number": validation.insured_number(insured_number),
            "branch": validation.insured_branch(branch),
            "card_cert_fingerprint": validation.cert_fingerprint(card_cert_fingerprint),
        }
        if request_ref:
            body["request_ref"] = request_ref
        response = self.client.post("/v1/registrations", body, idempotency_key=idempotency_key)
        f = _Fields(self.client, response.data)
        # The outbox's call, after the resident signed: an answer that cannot be kept is one
        # not understood (`text`), retried with its last error, never a refusal (the insurer
        # may hold the registration: outbox.py).
        return InsuranceRegistration(
            registration_ref=f.text("registration_ref"),
            status=f.choice("status", RegistrationStatus),
            insured_name_kana=f.opt_text("insured_name_kana"),
            insurer_number=body["insurer_number"],
            registered_at=f.text("registered_at"),
            replayed=response.replayed,
        )

    def cancel_registration(
        self, registration_ref: str, *, reason: str = "", idempotency_key: str | None = None
    ) -> InsuranceCancellation:
        """Cancel (suspend) a registration the insurer holds, under the caller's idempotency key
        (the outbox call's key, the same on every attempt)."""
        response = self.client.post(
            f"/v1/registrations/{_path_part(registration_ref)}/cancel",
            {"reason": reason},
            idempotency_key=idempotency_key,
        )
        f = _Fields(self.client, response.data)
        return InsuranceCancellation(
            registration_ref=f.text("registration_ref"),
            status=f.text("status"),
            cancelled_at=f.text("cancelled_at"),
            replayed=response.replayed,
        )

    def registrations(self) -> tuple[InsurerRecord, ...]:
        """Read-only: every registration the insurer holds (for reconciliation)."""
        response = self.client.get("/v1/registrations")
        rows = response.data.get("registrations")
        if not isinstance(rows, list):
            raise _Fields(self.client, {}).fail()
        out = []
        for row in rows:
            f = _Fields(self.client, row if isinstance(row, dict) else {})
            out.append(
                InsurerRecord(
                    registration_ref=f.text("registration_ref"),
                    request_ref=f.opt_text("request_ref"),
                    insurer_number=f.text("insurer_number"),
                    insured_last4=f.text("insured_last4"),
                    card_cert_fingerprint=f.text("card_cert_fingerprint"),
                    # Only compared with the kana the resident signed (odd, it differs):
                    # one odd record does not stop the reconciliation of the others.
                    insured_name_kana=f.opt_text("insured_name_kana"),
                    registered_at=f.text("registered_at"),
                )
            )
        return tuple(out)

    def lookup_insured(
        self, insurer_number: str, insured_symbol: str, insured_number: str, branch: str
    ) -> InsuredPerson:
        """Read-only: the insured person's attributes (name, kana, birth date, sex, status)."""
        body = {
            "insurer_number": validation.insurer_number(insurer_number),
            "insured_symbol": validation.insured_symbol(insured_symbol),
            "insured_number": validation.insured_number(insured_number),
            "branch": validation.insured_branch(branch),
        }
        response = self.client.post("/v1/insured-persons/lookup", body)
        f = _Fields(self.client, response.data)
        return InsuredPerson(
            name=f.opt_kept("insured_name"),
            name_kana=f.opt_kept("insured_name_kana"),
            birth_date=f.opt_text("birth_date"),
            sex=f.opt_text("sex"),
            status=f.text("status"),
        )


def http_provider(
    info: ProviderInfo, config: ClientConfig | None = None, *, base_url: str
) -> HttpPaymentProvider:
    """Adapter factory for the registry: a provider speaking the simulator's API at `base_url`."""
    return HttpPaymentProvider(
        base_url,
        code=info.code,
        display_name_ja=info.display_name_ja,
        display_name_en=info.display_name_en,
        config=config,
    )
