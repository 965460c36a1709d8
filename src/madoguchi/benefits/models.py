"""Programmes, providers, links and registrations, and the immutable points ledger.

Account identifiers (payment service IDs, bank account numbers, insured numbers) are stored
only as keyed hashes (HMAC-SHA256) plus their last 4 characters; see identifiers.py.

Over 400 lines on purpose: these are one app's models, and the rules that span them (one
account one resident through AccountClaim, the append-only ledger, the link states) read best
side by side with the constraints that enforce them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.appendonly import AppendOnlyQuerySet
from madoguchi.language import english

from . import identifiers
from .constants import (
    CATEGORY_NAMES_EN,
    AccountKind,
    BatchStatus,
    CallState,
    GrantStatus,
    KanaSource,
    LinkStatus,
    NameException,
    ProgrammeScope,
    RegistrationState,
    Relationship,
    SuspensionState,
    TransferKind,
)


class Programme(models.Model):
    """A point programme (the national one, or a municipality's add-on). Its terms live in
    versions; editing creates a new version, and links and grants keep the one they were
    made under."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    scope = models.CharField(_("scope"), max_length=20, choices=ProgrammeScope.choices)
    municipality = models.CharField(_("municipality"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")

    def __str__(self) -> str:
        current = self.current_version()
        return f"{current.name_ja if current else self.code}"

    def current_version(self) -> ProgrammeVersion | None:
        return self.versions.order_by("-number").first()


class ProgrammeVersion(models.Model):
    """One version of a programme's terms. Never changed once saved: a change is a new version.

    `categories` is a list of {"code", "label_ja", "kind": fixed|rate, "trigger",
    "points" (fixed) or "rate_percent" and "cap" (rate)}.
    """

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="versions", verbose_name=_("programme")
    )
    number = models.PositiveIntegerField(_("version"))
    name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    opens_at = models.DateTimeField(_("applications open"))
    closes_at = models.DateTimeField(_("applications close"))
    categories = models.JSONField(_("categories"), default=list)
    note = models.TextField(_("what changed"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("programme version")
        verbose_name_plural = _("programme versions")
        constraints = [
            models.UniqueConstraint(fields=["programme", "number"], name="programme_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.name_ja} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("a programme version is never changed; create a new version")
        super().save(*args, **kwargs)

    def category(self, code: str) -> dict[str, Any] | None:
        return next((c for c in self.categories if c.get("code") == code), None)


class Provider(models.Model):
    """A payment service the desks may link. `code` is the code in the outside registry."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    display_name_ja = models.CharField(_("name (Japanese)"), max_length=200)
    display_name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    is_active = models.BooleanField(_("offered at desks"), default=True)

    class Meta:
        verbose_name = _("payment provider")
        verbose_name_plural = _("payment providers")

    def __str__(self) -> str:
        return self.display_name_ja

    @property
    def display_name(self) -> str:
        """The name in the page's language (English when it has one)."""
        if not english():
            return self.display_name_ja
        return self.display_name_en or self.display_name_ja


class VisitRepresentative(models.Model):
    """A legal representative who authenticated with their own card during a resident's visit."""

    visit = models.ForeignKey("desk.Visit", on_delete=models.PROTECT, related_name="+")
    certificate = models.ForeignKey(
        "identity.HolderCertificate", on_delete=models.PROTECT, related_name="+"
    )
    relationship = models.CharField(_("relationship"), max_length=20, choices=Relationship.choices)
    kana = models.CharField(_("representative's kana name"), max_length=100)
    kana_source = models.CharField(_("kana source"), max_length=20, choices=KanaSource.choices)
    authenticated_at = models.DateTimeField(_("authenticated at"))

    class Meta:
        verbose_name = _("legal representative in a visit")
        verbose_name_plural = _("legal representatives in visits")

    def __str__(self) -> str:
        return f"{self.get_relationship_display()} ({self.certificate})"


class _NameCheckFields(models.Model):
    """The name check as it was run and signed (outcome, reason, who confirmed what)."""

    resident_kana = models.CharField(_("resident's kana name"), max_length=100)
    kana_source = models.CharField(_("kana source"), max_length=20, choices=KanaSource.choices)
    account_holder_kana = models.CharField(_("account holder (kana)"), max_length=100, blank=True)
    name_outcome = models.CharField(_("name check"), max_length=20)
    name_reason = models.CharField(_("name check reason"), max_length=40)
    name_score = models.PositiveSmallIntegerField(_("name check score (0-100)"))
    close_confirmed = models.BooleanField(_("resident confirmed a close match"), default=False)
    name_exception = models.CharField(
        _("exception"), max_length=30, choices=NameException.choices, blank=True
    )
    representative = models.ForeignKey(
        VisitRepresentative,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("legal representative"),
    )
    representative_outcome = models.CharField(
        _("representative name check"), max_length=20, blank=True
    )
    representative_reason = models.CharField(_("representative reason"), max_length=40, blank=True)

    class Meta:
        abstract = True


class _Committed(models.Model):
    holder = models.ForeignKey(
        "identity.Holder",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resident (card holder)"),
    )
    visit = models.ForeignKey(
        "desk.Visit", on_delete=models.PROTECT, related_name="+", verbose_name=_("visit")
    )
    procedure = models.OneToOneField(
        "desk.Procedure", on_delete=models.PROTECT, related_name="+", verbose_name=_("procedure")
    )
    completion = models.ForeignKey(
        "desk.Completion",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("signed completion"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        abstract = True


class PaymentLink(_Committed, _NameCheckFields):
    """A resident's payment service for a programme (the point application)."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID")
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="links", verbose_name=_("programme")
    )
    programme_version = models.ForeignKey(
        ProgrammeVersion,
        on_delete=models.PROTECT,
        related_name="links",
        verbose_name=_("programme version"),
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="links", verbose_name=_("provider")
    )
    account_hash = models.CharField(_("payment service ID (keyed hash)"), max_length=64)
    account_last4 = models.CharField(_("payment service ID (last 4)"), max_length=4)
    account_ref = models.CharField(_("provider's account reference"), max_length=100)
    status = models.CharField(
        _("status"), max_length=20, choices=LinkStatus.choices, default=LinkStatus.EFFECTIVE
    )
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    status_reason = models.TextField(blank=True, verbose_name=_("reason for the status"))
    replaced_by = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("replaced by"),
    )

    class Meta:
        verbose_name = _("payment link")
        verbose_name_plural = _("payment links")
        constraints = [
            # One payment account is never linked to two residents (nor twice) in a
            # programme; across programmes the point application checks it (clean).
            models.UniqueConstraint(
                fields=["programme", "provider", "account_hash"],
                condition=Q(status=LinkStatus.EFFECTIVE),
                name="benefits_one_effective_link_per_account",
            ),
            # One payment service per resident per programme; a suspended link still holds
            # the place (only a remediation case replaces it).
            models.UniqueConstraint(
                fields=["holder", "programme"],
                condition=Q(status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED]),
                name="benefits_one_link_per_holder_programme",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider.code} {self.masked_account}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Every write of a link keeps the account's claim in step (AccountClaim): an effective
        link claims its account for its resident, across programmes; a claim held by another
        resident raises AccountClaimedError (an IntegrityError) inside the caller's transaction."""
        super().save(*args, **kwargs)
        AccountClaim.sync(self)

    @property
    def masked_account(self) -> str:
        return "＊" * 4 + self.account_last4


class PublicFundAccount(_Committed, _NameCheckFields):
    """A public-fund receiving account registration (公金受取口座)."""

    bank_code = models.CharField(_("bank code"), max_length=4)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    branch_code = models.CharField(_("branch code"), max_length=3)
    branch_name = models.CharField(_("branch"), max_length=100, blank=True)
    account_type = models.CharField(_("account type"), max_length=10)
    account_hash = models.CharField(_("account (keyed hash)"), max_length=64)
    account_last4 = models.CharField(_("account number (last 4)"), max_length=4)
    status = models.CharField(
        _("status"), max_length=20, choices=LinkStatus.choices, default=LinkStatus.EFFECTIVE
    )
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    status_reason = models.TextField(blank=True, verbose_name=_("reason for the status"))

    class Meta:
        verbose_name = _("public-fund receiving account")
        verbose_name_plural = _("public-fund receiving accounts")
        constraints = [
            # One registration per resident; a suspended one still holds the resident's place
            # until the remediation case re-enables (releases) it, as a suspended payment link.
            models.UniqueConstraint(
                fields=["holder"],
                condition=Q(status__in=[LinkStatus.EFFECTIVE, LinkStatus.SUSPENDED]),
                name="benefits_one_public_fund_account_per_holder",
            ),
            # An account in another resident's name only through the documented exception. A
            # suspended registration no longer holds the account: its real holder may register
            # it at once (as a suspended payment link releases its AccountClaim).
            models.UniqueConstraint(
                fields=["account_hash"],
                condition=Q(status=LinkStatus.EFFECTIVE, name_exception=""),
                name="benefits_public_fund_account_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_code}-{self.branch_code} {identifiers.masked(self.account_last4)}"


class HealthInsuranceRegistration(_Committed):
    """Health-insurance use registration, as the insurer confirmed it."""

    insurer_number = models.CharField(_("insurer number"), max_length=8)
    insured_hash = models.CharField(_("insured symbol and number (keyed hash)"), max_length=64)
    insured_last4 = models.CharField(_("insured number (last 4)"), max_length=4)
    registration_ref = models.CharField(_("insurer's reference"), max_length=100)
    insurer_status = models.CharField(_("insurer's answer"), max_length=30)
    insured_name_kana = models.CharField(_("insurer's kana name"), max_length=100, blank=True)
    name_outcome = models.CharField(_("name check"), max_length=20, blank=True)
    name_reason = models.CharField(_("name check reason"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=LinkStatus.choices, default=LinkStatus.EFFECTIVE
    )
    # Committed with the signed completion as `registering`; the outbox worker sets it to
    # `registered` or `refused` once the insurer answered (OutsideCall).
    state = models.CharField(
        _("registration state"),
        max_length=20,
        choices=RegistrationState.choices,
        default=RegistrationState.REGISTERED,
    )
    # A remediation case's suspension: asked of the insurer through the outbox (`suspending`);
    # once the insurer cancelled it, `suspended` and `status` suspended (it no longer holds the
    # resident's place); `refused` if the insurer would not (docs/cases.md).
    suspension = models.CharField(
        _("suspension"), max_length=20, choices=SuspensionState.choices, blank=True, default=""
    )
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    status_reason = models.TextField(blank=True, verbose_name=_("reason for the status"))

    class Meta:
        verbose_name = _("health-insurance use registration")
        verbose_name_plural = _("health-insurance use registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["holder"],
                condition=Q(status=LinkStatus.EFFECTIVE) & ~Q(state=RegistrationState.REFUSED),
                name="benefits_one_health_insurance_per_holder",
            )
        ]

    def __str__(self) -> str:
        return f"{self.insurer_number} {identifiers.masked(self.insured_last4)}"


# --- outbox ------------------------------------------------------------------------------


class OutsideCall(models.Model):
    """The outbox: a state-changing call to an outside system, committed in the transaction
    that decided it (the signed completion) and performed afterwards by the worker with its
    idempotency key (benefits/outbox.py, docs/outside.md). Nothing outside is called inside a
    database transaction.

    `next_attempt_at` is both the due time and the lease: a worker claims a pending call by
    moving it forward (a conditional UPDATE), so a worker that dies mid-call leaves a call that
    is due again once the lease ran out, and is re-sent under the same key."""

    key = models.CharField(_("idempotency key"), max_length=100, unique=True)
    kind = models.CharField(_("call"), max_length=40)
    payload = models.JSONField(_("request"), default=dict)
    state = models.CharField(
        _("state"), max_length=20, choices=CallState.choices, default=CallState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    result = models.JSONField(_("answer"), default=dict, blank=True)
    procedure = models.OneToOneField(
        "desk.Procedure",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("procedure"),
    )
    registration = models.OneToOneField(
        HealthInsuranceRegistration,
        on_delete=models.PROTECT,
        related_name="outside_call",
        null=True,
        blank=True,
        verbose_name=_("registration"),
    )
    # An `insurer.cancel_registration` call: the registration it cancels (a case may ask again,
    # e.g. after reconcile found the insurer still holding it).
    cancels = models.ForeignKey(
        HealthInsuranceRegistration,
        on_delete=models.PROTECT,
        related_name="cancel_calls",
        null=True,
        blank=True,
        verbose_name=_("cancels"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outside call (outbox)")
        verbose_name_plural = _("outside calls (outbox)")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state=CallState.PENDING),
                name="benefits_outbox_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.get_state_display()})"


# --- ledger ------------------------------------------------------------------------------


class ImmutableError(Exception):
    pass


class ImmutableQuerySet(AppendOnlyQuerySet):
    error = ImmutableError
    changed = "ledger rows are never updated; post a new transfer"
    deleted = "ledger rows are never deleted; post a reversing transfer"


class _Immutable(models.Model):
    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("ledger rows are never updated; post a new transfer")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableError("ledger rows are never deleted; post a reversing transfer")


class LedgerAccount(models.Model):
    """A points account: a programme's funding, a resident's due or suspended points, or the
    points a provider has paid out. Balances are sums of entries, never stored."""

    code = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey(
        "identity.Holder", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")

    def __str__(self) -> str:
        return self.code


class Grant(models.Model):
    """A grant of a category's points to a resident. At most one effective per resident and
    category (database constraint); a returned grant stays, marked returned."""

    holder = models.ForeignKey(
        "identity.Holder",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("resident (card holder)"),
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="grants", verbose_name=_("programme")
    )
    programme_version = models.ForeignKey(
        ProgrammeVersion,
        on_delete=models.PROTECT,
        related_name="grants",
        verbose_name=_("programme version"),
    )
    category = models.CharField(_("category"), max_length=50)
    points = models.PositiveIntegerField(_("points"))
    link = models.ForeignKey(
        PaymentLink,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grants",
        verbose_name=_("payment link"),
    )
    regrant_of = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="regranted_as",
        verbose_name=_("re-grant of"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=GrantStatus.choices, default=GrantStatus.EFFECTIVE
    )
    source_ref = models.CharField(_("source"), max_length=200, blank=True)
    completion = models.ForeignKey(
        "desk.Completion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("signed completion"),
    )
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("grant")
        verbose_name_plural = _("grants")
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "programme", "category"],
                condition=Q(status=GrantStatus.EFFECTIVE),
                name="benefits_one_effective_grant_per_category",
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.points}pt ({self.get_status_display()})"

    def category_text(self, lang: str) -> str:
        """The category as its programme version names it (`label_en` on an English page when
        the version has one, else the national programme's English name), never its code."""
        category = self.programme_version.category(self.category) or {}
        return category_words(self.programme.code, self.category, category, lang)


def category_words(programme_code: str, code: str, category: dict[str, Any], lang: str) -> str:
    """A category of a programme version (its dict in `ProgrammeVersion.categories`) in words:
    its `label_ja`, or on an English page its `label_en`, else the national programme's English
    name; never its code unless it has no name at all."""
    japanese = str(category.get("label_ja") or code)
    if not english(lang):
        return japanese
    known = CATEGORY_NAMES_EN.get(programme_code, {}).get(code)
    return str(category.get("label_en") or known or japanese)


class PayoutBatch(models.Model):
    """Points sent to one provider in one request; idempotent by `batch_id`."""

    batch_id = models.CharField(max_length=64, unique=True, verbose_name=_("batch ID"))
    idempotency_key = models.CharField(
        max_length=100, unique=True, verbose_name=_("idempotency key")
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.PROTECT, related_name="batches", verbose_name=_("provider")
    )
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="+", verbose_name=_("programme")
    )
    status = models.CharField(
        max_length=20,
        choices=BatchStatus.choices,
        default=BatchStatus.OPEN,
        verbose_name=_("status"),
    )
    payout_ref = models.CharField(max_length=100, blank=True, verbose_name=_("payout reference"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # When the batch was first handed to the provider (None: never). From then on its items
    # are fixed (the provider refuses the same batch id with other items) and its answer is in
    # doubt until accepted; before, an item whose points the ledger no longer holds is withdrawn.
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("first sent at"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")

    def __str__(self) -> str:
        return self.batch_id


class PayoutItem(models.Model):
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="items")
    item_id = models.CharField(max_length=64)
    link = models.ForeignKey(PaymentLink, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField()
    result = models.CharField(max_length=20, blank=True)  # paid / rejected / withdrawn
    reason = models.CharField(max_length=50, blank=True)
    # An item the provider refused (`result` rejected) holds its link's points back from every
    # later batch until a city official releases it (`payouts release`, docs/benefits.md
    # "Payouts"): a refused item was sent again, and refused again, by every batch.
    released_at = models.DateTimeField(null=True, blank=True, verbose_name=_("hold released at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "item_id"], name="payout_item_in_batch")
        ]

    def __str__(self) -> str:
        return f"{self.batch} {self.item_id}"


class LedgerTransfer(_Immutable):
    """One movement of points: two or more entries summing to zero. Never changed."""

    kind = models.CharField(max_length=20, choices=TransferKind.choices, verbose_name=_("kind"))
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="+", verbose_name=_("programme")
    )
    holder = models.ForeignKey(
        "identity.Holder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resident (card holder)"),
    )
    grant = models.ForeignKey(
        Grant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers",
        verbose_name=_("grant"),
    )
    link = models.ForeignKey(
        PaymentLink,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment link"),
    )
    batch = models.ForeignKey(
        PayoutBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payout batch"),
    )
    idempotency_key = models.CharField(
        max_length=200, unique=True, verbose_name=_("idempotency key")
    )
    memo = models.CharField(max_length=500, blank=True, verbose_name=_("memo"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger transfer")
        verbose_name_plural = _("ledger transfers")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class LedgerEntry(_Immutable):
    transfer = models.ForeignKey(
        LedgerTransfer,
        on_delete=models.PROTECT,
        related_name="entries",
        verbose_name=_("transfer"),
    )
    account = models.ForeignKey(
        LedgerAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    amount = models.BigIntegerField(_("points"))  # credit positive, debit negative

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="ledger_entry_nonzero")]

    def __str__(self) -> str:
        return f"{self.account} {self.amount:+d}"


class AccountClaimedError(IntegrityError):
    """The payment account is claimed by another resident (benefits_one_holder_per_account)."""


class AccountClaim(models.Model):
    """One payment account belongs to at most one resident, across all programmes.

    The unique constraint `benefits_one_holder_per_account` is what holds under concurrency:
    two desks committing the same account for two residents (in one programme or in two) both
    insert this row; the second waits for the first and then fails inside its completion's
    transaction. Kept in step by `PaymentLink.save`; released when the resident has no
    effective link on the account any more (suspension, replacement by a case).
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    account_hash = models.CharField(max_length=64)
    holder = models.ForeignKey("identity.Holder", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment account claim")
        verbose_name_plural = _("payment account claims")
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "account_hash"], name="benefits_one_holder_per_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.account_hash[:12]} -> holder {self.holder_id}"

    @classmethod
    def sync(cls, link: PaymentLink) -> None:
        key = {"provider_id": link.provider_id, "account_hash": link.account_hash}
        if link.status == LinkStatus.EFFECTIVE:
            with transaction.atomic():
                claim, _created = cls.objects.get_or_create(
                    **key, defaults={"holder_id": link.holder_id}
                )
            if claim.holder_id != link.holder_id:
                raise AccountClaimedError(
                    f"account {link.account_hash[:12]} of provider {link.provider_id} belongs "
                    f"to holder {claim.holder_id}"
                )
            return
        still = PaymentLink.objects.filter(
            **key, holder_id=link.holder_id, status=LinkStatus.EFFECTIVE
        ).exists()
        if not still:
            cls.objects.filter(**key, holder_id=link.holder_id).delete()
