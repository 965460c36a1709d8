"""Reading the audit log."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet

from madoguchi.language import page_language

from .models import AuditEvent


def _subject_key(subject: Model | tuple[str, str]) -> tuple[str, str]:
    if isinstance(subject, Model):
        return f"{subject._meta.app_label}.{subject._meta.model_name}", str(subject.pk)
    return subject[0], str(subject[1])


def events_for_subject(subject: Model | tuple[str, str]) -> QuerySet[AuditEvent]:
    subject_type, subject_id = _subject_key(subject)
    return AuditEvent.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by(
        "seq"
    )


def events_for_terminal(terminal: Any) -> QuerySet[AuditEvent]:
    """``terminal`` is the object (anything with ``.pk``) or its id."""
    terminal_id = str(getattr(terminal, "pk", terminal))
    return AuditEvent.objects.filter(terminal_id=terminal_id).order_by("seq")


def latest(n: int = 20) -> list[AuditEvent]:
    """The last n events, oldest first."""
    return list(reversed(AuditEvent.objects.order_by("-seq")[:n]))


SYSTEM_LABEL = {"ja": "システム", "en": "system"}


def display(event: AuditEvent, lang: str | None = None) -> str:
    """The event's human-readable text in ``lang`` ("ja" or "en"; default: the active language)."""
    lang = page_language(lang or None)
    context: dict[str, Any] = dict(event.payload) if isinstance(event.payload, dict) else {}
    context.update(
        actor=event.actor_label or SYSTEM_LABEL[lang],
        terminal=event.terminal_label or "—",
        subject=f"{event.subject_type}:{event.subject_id}" if event.subject_type else "—",
    )
    event_type = event.event_type
    if event_type is None or event_type.name != event.event_name:
        return f"{event.event_name} {event.payload}"
    return event_type.render(context, lang)
