"""Visits, the procedures prepared in them, and the signed completions that commit them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import ProcedureStatus, VisitEndReason


class Visit(models.Model):
    """One resident served at one terminal, bound to the certificate that started it."""

    public_id = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    terminal = models.ForeignKey(
        "terminals.Terminal", on_delete=models.PROTECT, related_name="visits"
    )
    desk_session = models.ForeignKey(
        "terminals.DeskSession", on_delete=models.PROTECT, related_name="visits"
    )
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    holder = models.ForeignKey("identity.Holder", on_delete=models.PROTECT, related_name="visits")
    certificate = models.ForeignKey(
        "identity.HolderCertificate", on_delete=models.PROTECT, related_name="visits"
    )
    started_at = models.DateTimeField(_("started at"))
    last_activity_at = models.DateTimeField(_("last activity"))
    last_presence_at = models.DateTimeField(_("card last confirmed"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        _("end reason"), max_length=30, choices=VisitEndReason.choices, blank=True
    )
    # The card handover (docs/desk.md "Two cards in one visit"): when staff started it, and the
    # second card (a legal representative's own) once it authenticated in this visit.
    handover_at = models.DateTimeField(_("card handover started"), null=True, blank=True)
    companion_certificate = models.ForeignKey(
        "identity.HolderCertificate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("second card (legal representative)"),
    )
    # The birth date of the basic four the server verified (EF0003, J-LIS signature); what makes
    # the resident a minor. Only while the visit is open: cleared when it ends.
    card_birth_date = models.DateField(_("birth date (verified card read)"), null=True, blank=True)
    # Its sex code ('1', '2', '9'; empty until read), compared as the birth date is: the same
    # verified read, kept and cleared with it.
    card_sex = models.CharField(_("sex (verified card read)"), max_length=1, blank=True)
    # The name of that same verified read: the only name a procedure of this visit carries (its
    # `resident_name`: the PIN pad's signed lines, the receipt). Never the desk's word; kept and
    # cleared with the birth date (docs/desk.md "The resident's name").
    card_name = models.CharField(_("name (verified card read)"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal"],
                condition=Q(ended_at__isnull=True),
                name="one_open_visit_per_terminal",
            )
        ]

    def __str__(self) -> str:
        return str(self.public_id)[:8]

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def reference(self) -> str:
        return str(self.public_id)[:8].upper()


class Procedure(models.Model):
    """A change prepared in a visit; it is written only by a signed completion."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="procedures")
    kind = models.CharField(_("procedure"), max_length=40)
    fields = models.JSONField(_("fields"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=ProcedureStatus.choices, default=ProcedureStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completion = models.ForeignKey(
        "Completion", on_delete=models.PROTECT, null=True, blank=True, related_name="procedures"
    )

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")

    def __str__(self) -> str:
        # In words (the admin names a link's or a call's procedure by it), not the stored codes.
        from .procedures import label

        return f"{label(self.kind)} ({self.get_status_display()})"


class Completion(models.Model):
    """Evidence of a signed commit: the exact bytes, the token, the certificate. Never edited."""

    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="completions")
    nonce = models.OneToOneField("identity.Nonce", on_delete=models.PROTECT, related_name="+")
    transaction_bytes = models.BinaryField(_("signed transaction (canonical JSON)"))
    transaction_digest = models.CharField(_("transaction SHA-256"), max_length=64)
    token = models.TextField(_("completion token"))
    certificate = models.ForeignKey(
        "identity.HolderCertificate", on_delete=models.PROTECT, related_name="+"
    )
    # The second signature over the same bytes and nonce: the legal representative's own card.
    second_token = models.TextField(_("second completion token"), blank=True)
    second_certificate = models.ForeignKey(
        "identity.HolderCertificate",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    committed_at = models.DateTimeField(_("committed at"))

    class Meta:
        verbose_name = _("completion")
        verbose_name_plural = _("completions")

    def __str__(self) -> str:
        return f"{self.visit} @ {timezone.localtime(self.committed_at):%Y-%m-%d %H:%M:%S}"
