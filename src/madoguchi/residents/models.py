"""The resident's own page: sign-in challenges, page sessions bound to a certificate,
"this was not me" reports, and notice letters recorded on cases."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import EndReason, ItemKind, NotMeReason


class SignInChallenge(models.Model):
    """A single-use nonce for the resident page's card sign-in (its own purpose and origin),
    bound to the browser session that asked for it."""

    value = models.CharField(max_length=64, unique=True)
    session_key_hash = models.CharField(max_length=64)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("resident sign-in challenge")
        verbose_name_plural = _("resident sign-in challenges")

    def __str__(self) -> str:
        return f"challenge {timezone.localtime(self.issued_at):%H:%M:%S}"


class ResidentSession(models.Model):
    """One sign-in on the resident page, bound to the certificate that signed in."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    fingerprint = models.CharField(_("certificate SHA-256"), max_length=64)
    holder = models.ForeignKey(
        "identity.Holder", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kiosk = models.BooleanField(default=False)
    # The terminal this browser is bound to (a kiosk), if any: its card agent's reports end it.
    terminal = models.ForeignKey(
        "terminals.Terminal", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("resident page session")
        verbose_name_plural = _("resident page sessions")

    def __str__(self) -> str:
        return str(self.public_id)[:8]


class NotMeReport(models.Model):
    """A resident's "this was not me" on one of their items, with the incident and case."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    holder = models.ForeignKey("identity.Holder", on_delete=models.PROTECT, related_name="+")
    item_kind = models.CharField(_("item"), max_length=20, choices=ItemKind.choices)
    item_id = models.PositiveBigIntegerField()
    reason = models.CharField(_("reason"), max_length=20, choices=NotMeReason.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _('"this was not me" report')
        verbose_name_plural = _('"this was not me" reports')

    def __str__(self) -> str:
        return f"{self.item_kind} {self.item_id}"

    @property
    def reference(self) -> str:
        return self.case.reference


class Notice(models.Model):
    """A notice letter to the resident for a case step (suspension, return, re-enabling,
    closing): its text is fixed when the step is recorded; the PDF is rendered from it."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="notices")
    entry = models.OneToOneField(
        "cases.TimelineEntry", on_delete=models.PROTECT, related_name="notice"
    )
    holder = models.ForeignKey("identity.Holder", on_delete=models.PROTECT, related_name="+")
    issued_on = models.DateField(_("dated"))
    issued_on_ja = models.CharField(_("dated (era)"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.JSONField(_("letter"), default=list)
    # The 問い合わせ先 as issued (`cases.document.contact_block`: the case's city's): a letter
    # downloaded again names the contact it was sent with, not one saved since. Empty on the
    # letters issued before it was kept (they show the case's city's current one).
    contact = models.JSONField(_("contact block as issued"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice letter")
        verbose_name_plural = _("notice letters")

    def __str__(self) -> str:
        return self.title
