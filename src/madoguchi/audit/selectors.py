"""Reading the audit log."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q, QuerySet, Subquery
from django.utils import timezone

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


# The desk's event that ends a visit (`desk.events.VISITS_ENDED`; audit sits below desk).
_VISIT_ENDED = "visits.ended"


def visit_events(visit: Any) -> QuerySet[AuditEvent]:
    """The audit trail of a desk visit (any object with the visit's fields): events about the
    visit, its procedures or its completions, and everything recorded at its terminal while it
    was open (card insertions and removals, what its completion committed). The case page and
    the incident page show it; the incident page showed only the events about the visit itself,
    without the completion the resident signed.

    "While it was open" ends with the visit's end event (`visits.ended`): what was recorded at
    the terminal before it, in the same transaction, is the visit's too. The card placed or
    taken away that ended the visit is recorded in the end's transaction after the visit's end
    time was read, and the audit log times each event when it is appended (at commit): an
    end time alone left it out of the trail of the incident it caused."""
    completions = [str(pk) for pk in visit.completions.values_list("pk", flat=True)]
    procedures = [str(pk) for pk in visit.procedures.values_list("pk", flat=True)]
    end = visit.ended_at or timezone.now()
    subject = Q(subject_type="desk.visit", subject_id=str(visit.pk))
    end_event = AuditEvent.objects.filter(subject, event_name=_VISIT_ENDED).values("seq")[:1]
    return AuditEvent.objects.filter(
        subject
        | Q(subject_type="desk.completion", subject_id__in=completions)
        | Q(subject_type="desk.procedure", subject_id__in=procedures)
        | Q(
            Q(time__lte=end) | Q(seq__lte=Subquery(end_event)),
            terminal_id=str(visit.terminal_id),
            time__gte=visit.started_at,
        )
    ).order_by("seq")


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
