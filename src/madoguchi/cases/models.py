"""Remediation cases: an append-only timeline per case, legacy links, the city's contact block."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.appendonly import AppendOnlyQuerySet
from madoguchi.plaintext import plain_line

from . import text
from .constants import (
    CaseStatus,
    Channel,
    CloseOutcome,
    ComparisonResult,
    DatePrecision,
    EntryKind,
    HolderKanaMissing,
    Party,
    Programme,
)


class TimelineImmutableError(Exception):
    pass


class LegacyLink(models.Model):
    """A payment link made before signed completion (imported from the old system's records).

    It has no Completion: nobody's card signed what was committed. `session_log` holds the
    old terminal's records around the commit, as a list of {"at": ISO time, "event":
    login|card_read|card_removed|committed|logout, "resident": label}. `holder_kana`: the
    account holder's name as the provider or bank reported it (a name, never a number), where
    the records gave one (the forensic scan's input does); else `holder_kana_missing` says
    why it is not known."""

    resident_label = models.CharField(_("resident"), max_length=100)
    holder = models.ForeignKey(
        "identity.Holder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resident (card holder)"),
    )
    provider_name = models.CharField(_("payment service"), max_length=200)
    account_hash = models.CharField(_("payment card number (keyed hash)"), max_length=64)
    account_last4 = models.CharField(_("payment card number (last 4)"), max_length=4)
    linked_on = models.DateField(_("linked on"), null=True, blank=True)
    linked_on_precision = models.CharField(
        _("date precision"),
        max_length=10,
        choices=DatePrecision.choices,
        default=DatePrecision.UNKNOWN,
    )
    desk_location = models.CharField(_("desk"), max_length=200, blank=True)
    session_log = models.JSONField(_("old terminal's session records"), default=list, blank=True)
    holder_kana = models.CharField(
        _("account holder (kana), as the provider or bank reported it"), max_length=100, blank=True
    )
    holder_kana_missing = models.CharField(
        _("why the account holder's name is not known"),
        max_length=20,
        choices=HolderKanaMissing.choices,
        blank=True,
    )
    source = models.CharField(_("imported from"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("legacy link (before signed completion)")
        verbose_name_plural = _("legacy links (before signed completion)")

    def __str__(self) -> str:
        return f"{self.resident_label}: {self.provider_name} ＊＊＊＊{self.account_last4}"

    @property
    def masked_account(self) -> str:
        return "＊＊＊＊" + self.account_last4


class Case(models.Model):
    """A reported mis-link. Its status is its latest timeline entry's status."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public ID")
    )
    title = models.CharField(_("title"), max_length=300)
    resident_label = models.CharField(_("resident (as named in the report)"), max_length=100)
    other_resident_label = models.CharField(
        _("other resident (as named in the report)"), max_length=100, blank=True
    )
    holder = models.ForeignKey(
        "identity.Holder",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resident (card holder)"),
    )
    payment_link = models.ForeignKey(
        "benefits.PaymentLink",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("payment link"),
    )
    legacy_link = models.ForeignKey(
        LegacyLink,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("legacy link"),
    )
    programme = models.CharField(
        _("programme"), max_length=20, choices=Programme.choices, default=Programme.POINTS
    )
    desk_location = models.CharField(_("desk"), max_length=200, blank=True)
    terminal = models.ForeignKey(
        "terminals.Terminal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("terminal"),
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by"),
    )
    # The opener's organisation when the case was opened (None: the opener had none, as the
    # resident page's system account). A case without a desk belongs to this organisation's
    # city (`selectors.visible_cases`), fixed at opening: the opener moved to another
    # organisation later does not take the case with them.
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by organisation"),
    )
    # The incident it was opened from (its page's button): one case an incident, the second
    # refused (`services.case_open`); the incident's page links to it.
    incident = models.OneToOneField(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="case",
        verbose_name=_("opened from incident"),
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    # The language-neutral form of the title and the resident as named, where the system wrote
    # them (cases.text); the stored Japanese stays the record.
    texts = models.JSONField(_("system-made words, by language"), default=dict, blank=True)
    # The report document's editable parts (the rest is generated).
    report_title = models.CharField(_("report title"), max_length=300, blank=True)
    report_prevention = models.TextField(_("preventive measures"), blank=True)
    # How many times the report's edit was saved: the edit form carries the one it was shown
    # with, and a save from a page shown before another official's save is refused
    # (`services.case_report_edit`), where it wrote over theirs.
    report_revision = models.PositiveIntegerField(_("report edit revision"), default=0)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-opened_at"]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"CASE-{self.pk:05d}" if self.pk else "CASE-?"

    def latest_entry(self) -> TimelineEntry | None:
        # A list that prefetched the timelines (the incident list: one statement for all its
        # cases) reads the latest entry from them, not one statement a case.
        if "timeline" in getattr(self, "_prefetched_objects_cache", {}):
            return max(self.timeline.all(), key=lambda entry: entry.seq, default=None)
        return self.timeline.order_by("-seq").first()

    @property
    def shown_title(self) -> str:
        """The title in the page's language where the system made it (cases.text)."""
        return text.shown(self.texts, "title", self.title)

    @property
    def shown_resident_label(self) -> str:
        return text.shown(self.texts, "resident_label", self.resident_label)

    @property
    def shown_opened_by(self) -> str:
        return text.shown(self.texts, "opened_by", str(self.opened_by))

    @property
    def status(self) -> CaseStatus:
        entry = self.latest_entry()
        return CaseStatus(entry.status) if entry else CaseStatus.INTAKE

    @property
    def closed(self) -> bool:
        """Whether the case is closed (every step is refused from then on)."""
        return self.status == CaseStatus.CLOSED


class TimelineEntries(AppendOnlyQuerySet):
    """A queryset's update, delete or upsert refused as save() and delete() are; the
    database's trigger refuses raw SQL (migration 0013)."""

    error = TimelineImmutableError
    changed = "a timeline entry is never changed; append a new one"
    deleted = "a timeline entry is never deleted; append a new one"


class TimelineEntry(models.Model):
    """One step of a case. Appended, never changed."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="timeline", verbose_name=_("case")
    )
    seq = models.PositiveIntegerField(_("step number"))
    kind = models.CharField(_("step"), max_length=20, choices=EntryKind.choices)
    status = models.CharField(_("status after"), max_length=20, choices=CaseStatus.choices)
    event_date = models.DateField(_("date"), null=True, blank=True)
    date_precision = models.CharField(
        _("date precision"), max_length=10, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    party = models.CharField(_("party"), max_length=20, choices=Party.choices, blank=True)
    party_label = models.CharField(_("who"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    summary = models.TextField(_("summary"))
    comparison = models.CharField(
        _("comparison"), max_length=20, choices=ComparisonResult.choices, blank=True
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    objects = TimelineEntries.as_manager()

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["case", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="cases_entry_seq")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TimelineImmutableError("a timeline entry is never changed; append a new one")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TimelineImmutableError("a timeline entry is never deleted; append a new one")

    @property
    def shown_summary(self) -> str:
        """The summary in the page's language where the system made it (cases.text)."""
        return text.shown(self.detail.get("text"), "summary", self.summary)

    @property
    def outcome(self) -> str:
        """What a closing found (a `CloseOutcome` value); "" when not stated."""
        outcome = self.detail.get("outcome") if isinstance(self.detail, dict) else None
        return outcome if outcome in CloseOutcome.values else ""

    @property
    def outcome_label(self) -> Any:
        """What a closing found, in the page's language; "" when not stated."""
        return CloseOutcome(self.outcome).label if self.outcome else ""

    @property
    def shown_party_label(self) -> str:
        return text.shown(self.detail.get("text"), "party_label", self.party_label)

    @property
    def shown_actor(self) -> str:
        return text.shown(self.detail.get("text"), "actor", str(self.actor))


class CityContact(models.Model):
    """The contact block printed under the incident report and the resident's letters
    (問い合わせ先). A case's is the latest row of its city (`selectors.case_city`); without one,
    the latest row naming no city (the deployment's default: rows saved before a contact named
    its city are such rows); without that, settings.CASES_CITY_CONTACT (or blanks)."""

    city = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": OrganisationKind.CITY},
        verbose_name=_("city (organisation)"),
        help_text=_(
            "The city whose cases' reports and letters print this contact. Left empty, it is "
            "the contact of every case whose city has none of its own."
        ),
    )
    city_name = models.CharField(_("city"), max_length=100, blank=True, validators=[plain_line])
    department = models.CharField(_("department (担当課)"), max_length=300, validators=[plain_line])
    phone = models.CharField(_("phone"), max_length=50, validators=[plain_line])
    fax = models.CharField(_("fax"), max_length=50, blank=True, validators=[plain_line])
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("city contact block")
        verbose_name_plural = _("city contact blocks")

    def __str__(self) -> str:
        return f"{self.department} {self.phone}"
