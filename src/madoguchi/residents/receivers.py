"""Each case step that concerns a resident records its notice letter on the case, in the
step's own transaction."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from madoguchi.cases.models import TimelineEntry

from .notices import notice_issue


@receiver(post_save, sender=TimelineEntry, dispatch_uid="madoguchi.residents.notice_on_step")
def notice_on_case_step(sender: Any, instance: TimelineEntry, created: bool, **kwargs: Any) -> None:
    if created:
        notice_issue(instance)
