from __future__ import annotations

from django.db import models
from django.utils import timezone


class SentForm(models.Model):
    """A form sent and recorded: the one-time key it was shown with (`once.services`), and
    what it recorded (the model's label and the row's key: a case, an incident). The same form
    sent again records nothing a second time; its sender is shown what the first one
    recorded."""

    model = models.CharField(max_length=100)  # the recorded row's model, as `app.model`
    key = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "key"], name="once_sentform_model_key"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id} {self.sent_at:%Y-%m-%d %H:%M:%S}"
