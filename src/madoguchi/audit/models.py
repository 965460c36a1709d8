"""The audit log: one appended row per event, hash-chained, never updated or deleted.

Actor and terminal are stored as id + label, not foreign keys: the log outlives the rows it
mentions, and a label records who or what it was at the time.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import events
from .canonical import EventRecord


class AuditLogImmutableError(Exception):
    """The audit log is append-only: rows are never changed or deleted."""


def _refuse(what: str) -> NoReturn:
    raise AuditLogImmutableError(
        f"The audit log is append-only: {what} is refused. Record a new event instead."
    )


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        _refuse("updating audit events")

    def delete(self) -> tuple[int, dict[str, int]]:
        _refuse("deleting audit events")


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(_("sequence number"), primary_key=True)
    time = models.DateTimeField(_("time"))
    event_id = models.PositiveIntegerField(_("event id"))
    event_name = models.CharField(_("event"), max_length=100)
    actor_id = models.CharField(_("actor id"), max_length=64, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200, blank=True)
    terminal_id = models.CharField(_("terminal id"), max_length=64, blank=True)
    terminal_label = models.CharField(_("terminal"), max_length=200, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=100, blank=True)
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    # The canonical bytes the leaf hash was computed from, stored at append (issue 15): the
    # verifier hashes these in a tight loop and checks the columns against them in SQL. Null
    # for events appended before the column existed (verified from their columns, as before).
    canonical = models.BinaryField(_("canonical bytes"), null=True, editable=False)
    leaf_hash = models.CharField(_("leaf hash"), max_length=64)
    chain_hash = models.CharField(_("chain hash"), max_length=64)
    # The previous event's seq and time, filled at append (forty-fourth session): on PostgreSQL
    # two constraints check them against that event, so that no event's time is earlier than the
    # previous one's (`madoguchi.audit.timeorder`). Not part of the canonical bytes. Null for the
    # first event and for events appended before the columns existed (never filled in after).
    previous_seq = models.BigIntegerField(_("previous sequence number"), null=True, editable=False)
    previous_time = models.DateTimeField(_("previous event's time"), null=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "seq"], name="audit_subject_idx"),
            models.Index(fields=["terminal_id", "seq"], name="audit_terminal_idx"),
            models.Index(fields=["actor_id", "seq"], name="audit_actor_idx"),
            models.Index(fields=["time"], name="audit_time_idx"),
            models.Index(fields=["event_name", "seq"], name="audit_event_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse(f"changing audit event #{self.seq}")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"deleting audit event #{self.seq}")

    @property
    def event_type(self) -> events.EventType | None:
        try:
            return events.get(self.event_id)
        except events.UnknownEventError:
            return None

    def as_record(self) -> EventRecord:
        return EventRecord(
            seq=self.seq,
            time=self.time,
            event_id=self.event_id,
            event_name=self.event_name,
            actor_id=self.actor_id,
            actor_label=self.actor_label,
            terminal_id=self.terminal_id,
            terminal_label=self.terminal_label,
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            payload=self.payload,
        )


class AuditCheckpoint(models.Model):
    """A signed Merkle tree head over the first ``size`` events (also kept as a file)."""

    size = models.PositiveBigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root hash"), max_length=64)
    origin = models.CharField(_("origin"), max_length=200)
    key_name = models.CharField(_("key name"), max_length=200)
    key_id = models.CharField(_("key id"), max_length=8)
    note = models.TextField(_("signed note"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["size", "id"]

    def __str__(self) -> str:
        return f"{self.origin} @ {self.size}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse(f"changing checkpoint {self.pk}")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(f"deleting checkpoint {self.pk}")


class UnauthenticatedTally(models.Model):
    """How often one kind of unauthenticated event came from one source in one minute.

    Not part of the log: it lets `audit.throttle` write the first such event of a minute to the
    log and fold the repeats into one summary event with their count (written once the minute
    is over), so that a flood of bad requests cannot flood the log or hold its append lock.
    """

    kind = models.CharField(max_length=120)
    source = models.CharField(max_length=100)
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    summarised = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source", "minute"], name="audit_one_tally_per_kind_source_minute"
            )
        ]
        indexes = [models.Index(fields=["summarised", "minute"], name="audit_tally_open")]

    def __str__(self) -> str:
        return f"{self.kind} from {self.source} at {timezone.localtime(self.minute):%H:%M}: {self.count}"
