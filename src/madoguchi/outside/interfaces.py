"""What madoguchi asks of payment providers, banks and health insurers.

The Protocols are the whole contract: the HTTP clients in `clients.py` implement them against
the simulated services, and a real adapter implements the same methods against the real
system (see docs/outside.md). Values are frozen dataclasses so nothing downstream can edit
what an outside system said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from madoguchi.outside.errors import AccountClosed, AccountSuspended, System


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"

    @property
    def label_ja(self) -> str:
        return {"active": "利用中", "suspended": "利用停止中", "closed": "解約済み"}[self.value]


class BankAccountType(StrEnum):
    """Deposit type (預金種目); Zengin codes 1, 2 and 4."""

    ORDINARY = "ordinary"
    CURRENT = "current"
    SAVINGS = "savings"

    @property
    def label_ja(self) -> str:
        return {"ordinary": "普通", "current": "当座", "savings": "貯蓄"}[self.value]

    @property
    def label_en(self) -> str:
        return {"ordinary": "Ordinary", "current": "Current", "savings": "Savings"}[self.value]

    @property
    def zengin_code(self) -> str:
        return {"ordinary": "1", "current": "2", "savings": "4"}[self.value]


class PayoutItemStatus(StrEnum):
    PAID = "paid"
    REJECTED = "rejected"


class RegistrationStatus(StrEnum):
    """`registered`: newly registered by this request; `already_registered`: the same card was
    registered before (nothing changed)."""

    REGISTERED = "registered"
    ALREADY_REGISTERED = "already_registered"


def _ensure_active(status: AccountStatus, system: System) -> None:
    if status is AccountStatus.SUSPENDED:
        raise AccountSuspended(system=system)
    if status is AccountStatus.CLOSED:
        raise AccountClosed(system=system)


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """A payment service account as the provider reports it.

    `holder_name_kana` is half-width Zengin-style kana (e.g. ``ﾔﾏﾀﾞ ﾀﾛｳ``), or None when the
    provider does not disclose it ("unavailable": the name check must then say so).
    """

    account_ref: str
    holder_name_kana: str | None
    status: AccountStatus
    provider_code: str = ""

    @property
    def holder_name_available(self) -> bool:
        return self.holder_name_kana is not None

    def ensure_active(self) -> None:
        """Raise AccountSuspended / AccountClosed unless the account can be linked."""
        _ensure_active(self.status, System.PAYMENT_PROVIDER)


@dataclass(frozen=True, slots=True)
class PayoutItem:
    """One grant of points to one account; `item_id` is unique within the batch."""

    item_id: str
    account_ref: str
    points: int


@dataclass(frozen=True, slots=True)
class PayoutItemResult:
    item_id: str
    account_ref: str
    points: int
    status: PayoutItemStatus
    reason: str | None = None  # error code when rejected, e.g. "account_suspended"


@dataclass(frozen=True, slots=True)
class PayoutResult:
    batch_id: str
    payout_ref: str
    accepted_at: str  # ISO 8601, as the provider stamped it
    items: tuple[PayoutItemResult, ...]
    replayed: bool = False  # True when the provider returned its stored first answer

    @property
    def paid_points(self) -> int:
        return sum(i.points for i in self.items if i.status is PayoutItemStatus.PAID)

    @property
    def rejected(self) -> tuple[PayoutItemResult, ...]:
        return tuple(i for i in self.items if i.status is PayoutItemStatus.REJECTED)


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A bank account as the bank reports it (口座名義照会). Only the last 4 digits of the
    account number are kept here."""

    bank_code: str
    branch_code: str
    account_type: BankAccountType
    account_number_last4: str
    holder_name_kana: str | None
    status: AccountStatus
    bank_name: str = ""
    branch_name: str = ""

    def ensure_active(self) -> None:
        _ensure_active(self.status, System.BANK)


@dataclass(frozen=True, slots=True)
class InsuranceRegistration:
    registration_ref: str
    status: RegistrationStatus
    insured_name_kana: str | None  # the insurer's kana name for the person, when it has one
    insurer_number: str
    registered_at: str  # ISO 8601
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class InsuranceCancellation:
    """The insurer's answer to a cancellation (利用停止) of a registration it holds."""

    registration_ref: str
    status: str  # "cancelled", or "already_cancelled" for the same registration again
    cancelled_at: str  # ISO 8601
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class InsurerRecord:
    """One registration as the insurer holds it (its list, for reconciliation)."""

    registration_ref: str
    request_ref: str | None  # the requester's reference sent with the registration, if any
    insurer_number: str
    insured_last4: str
    card_cert_fingerprint: str
    insured_name_kana: str | None
    registered_at: str  # ISO 8601


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    """What the insurer holds about an insured person (read-only look-up, before registering)."""

    name: str | None
    name_kana: str | None
    birth_date: str | None  # ISO date
    sex: str | None  # "1" male, "2" female, "9" other (as on the card)
    status: str  # "active", "lost", ...


@runtime_checkable
class PaymentProvider(Protocol):
    """A cashless payment service that receives points."""

    def verify(self, payment_service_id: str, security_code: str) -> ProviderAccount:
        """Check the ID and security code; return the account (whatever its status).

        Raises AccountNotFound, SecurityCodeWrong, VerificationLocked, InvalidRequest,
        OutsideUnavailable, OutsideTimeout; OutsideValueUnusable when the holder's name or the
        account reference holds a control character or more than 100 characters.
        """
        ...

    def payout(
        self, batch_id: str, items: Sequence[PayoutItem], *, idempotency_key: str | None = None
    ) -> PayoutResult:
        """Pay points. Idempotent by `batch_id`: the same batch again returns the first result;
        the same batch id with different items raises IdempotencyConflict."""
        ...

    def suspend(
        self, account_ref: str, *, reason: str = "", idempotency_key: str | None = None
    ) -> ProviderAccount:
        """Suspend the account (e.g. after a mis-link). Suspending twice is not an error."""
        ...

    def account(self, account_ref: str) -> ProviderAccount:
        """Current state of a known account."""
        ...


@runtime_checkable
class Bank(Protocol):
    """Account holder lookup for public-fund receiving accounts."""

    def lookup_account(
        self,
        bank_code: str,
        branch_code: str,
        account_type: BankAccountType | str,
        account_number: str,
    ) -> BankAccount:
        """Raises AccountNotFound, InvalidRequest, OutsideUnavailable, OutsideTimeout;
        OutsideValueUnusable when the holder's, bank's or branch's name holds a control
        character or more than 100 characters."""
        ...


@runtime_checkable
class Insurer(Protocol):
    """Health-insurance use registration (健康保険証としての利用登録)."""

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
        """Raises InsuredPersonNotFound, InsuranceNotEligible, RegisteredToAnotherCard,
        IdempotencyConflict, InvalidRequest, OutsideUnavailable, OutsideTimeout,
        OutsideProtocolError (also an answer whose kana name or reference cannot be kept: the
        outbox retries it, the insurer may hold the registration).
        `request_ref` is kept with the registration and listed by `registrations()`."""
        ...

    def cancel_registration(
        self, registration_ref: str, *, reason: str = "", idempotency_key: str | None = None
    ) -> InsuranceCancellation:
        """Cancel (suspend) a registration the insurer holds, e.g. a mis-link a remediation case
        found: the card no longer works for that insured person, and the person may be
        registered again with the right card. Cancelling the same registration again is not an
        error (`already_cancelled`). Raises RegistrationNotFound, IdempotencyConflict,
        InvalidRequest, OutsideUnavailable, OutsideTimeout."""
        ...

    def registrations(self) -> Sequence[InsurerRecord]:
        """Read-only: the registrations the insurer holds (for reconciliation). Raises
        OutsideUnavailable, OutsideTimeout, OutsideProtocolError."""
        ...

    def lookup_insured(
        self, insurer_number: str, insured_symbol: str, insured_number: str, branch: str
    ) -> InsuredPerson:
        """Read-only: the insured person's attributes. Raises InsuredPersonNotFound,
        InvalidRequest, OutsideUnavailable, OutsideTimeout; OutsideValueUnusable when the name
        or its kana holds a control character or more than 100 characters."""
        ...
