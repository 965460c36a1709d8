"""Scrub what a procedure kept only until its commit once it can no longer be committed."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Procedure


@receiver(post_save, sender=Procedure, dispatch_uid="benefits_scrub_procedure")
def scrub_private_fields(sender: Any, instance: Procedure, **kwargs: Any) -> None:
    if instance.status == ProcedureStatus.PENDING or not isinstance(instance.fields, dict):
        return
    if any(k.startswith("_") for k in instance.fields):
        scrubbed = {k: v for k, v in instance.fields.items() if not k.startswith("_")}
        Procedure.objects.filter(pk=instance.pk).update(fields=scrubbed)
        instance.fields = scrubbed
