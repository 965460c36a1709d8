from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import IncidentKind, Severity, Source


class Incident(models.Model):
    """An anomaly, recorded automatically (or entered by hand for a complaint). Never edited."""

    kind = models.CharField(_("kind"), max_length=40, choices=IncidentKind.choices)
    reason_code = models.CharField(_("reason"), max_length=60)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    # Not bounded: a resident's "this was not me" comment (up to 500 characters) reaches it
    # whole after the sentence naming the record (docs/resident.md); it was cut at 500.
    summary = models.TextField(_("summary"))
    visit = models.ForeignKey(
        "desk.Visit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("visit"),
    )
    terminal = models.ForeignKey(
        "terminals.Terminal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("terminal"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    detail = models.JSONField(_("detail"), default=dict)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.AUTOMATIC
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    # The organisation that recorded it (the desk's contractor, else the recorder's
    # organisation); who may read a desk-less incident follows from it (incidents.access).
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by organisation"),
    )
    # When the anomaly happened: by default when it is recorded; a lapse the sweeper applies
    # later (after midnight) is the time of the lapse (`incident_record(occurred_at=...)`), so
    # the incident is in the report of the day it happened.
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["terminal", "occurred_at"], name="incident_terminal_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.reason_code})"
