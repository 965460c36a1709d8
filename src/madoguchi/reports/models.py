"""Submitted daily reports. A report exists as a row only once submitted; it is then frozen:
its content snapshot and that snapshot's SHA-256 never change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.appendonly import AppendOnlyQuerySet


class ReportFrozenError(Exception):
    pass


class FrozenReports(AppendOnlyQuerySet):
    """A queryset's update, delete or upsert refused as save() and delete() are; the
    database's trigger refuses raw SQL (migration 0003)."""

    error = ReportFrozenError
    changed = "a submitted report is frozen"
    deleted = "a submitted report is never deleted"


class DailyReport(models.Model):
    contractor = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("contractor"),
    )
    terminal = models.ForeignKey(
        "terminals.Terminal", on_delete=models.PROTECT, related_name="+", verbose_name=_("desk")
    )
    day = models.DateField(_("day"))
    note = models.TextField(_("supervisor's note"), blank=True)
    snapshot = models.JSONField(_("content as submitted"))
    sha256 = models.CharField(_("SHA-256 of the content"), max_length=64)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    objects = FrozenReports.as_manager()

    class Meta:
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        ordering = ["-day", "terminal"]
        constraints = [
            models.UniqueConstraint(fields=["terminal", "day"], name="reports_one_per_desk_day")
        ]
        permissions = [("submit_dailyreport", "Can submit the daily report of its contractor")]

    def __str__(self) -> str:
        return f"{self.terminal} {self.day}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ReportFrozenError("a submitted report is frozen")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ReportFrozenError("a submitted report is never deleted")
