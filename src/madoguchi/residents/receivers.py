"""Each case step that concerns a resident records its notice letter on the case, in the
step's own transaction; a kiosk's card agent reporting the card gone ends the resident page
session on the server."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from madoguchi.cases.models import TimelineEntry
from madoguchi.desk.services import card_reported

from . import services
from .notices import notice_issue


@receiver(post_save, sender=TimelineEntry, dispatch_uid="madoguchi.residents.notice_on_step")
def notice_on_case_step(sender: Any, instance: TimelineEntry, created: bool, **kwargs: Any) -> None:
    if created:
        notice_issue(instance)


@receiver(card_reported, dispatch_uid="madoguchi.residents.end_on_card_report")
def end_on_card_report(
    sender: Any,
    terminal: Any,
    kind: str,
    cert_fingerprint: str | None,
    observed_at: Any,
    **kwargs: Any,
) -> None:
    services.card_reported(
        terminal=terminal, kind=kind, cert_fingerprint=cert_fingerprint, observed_at=observed_at
    )
