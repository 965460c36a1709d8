from __future__ import annotations

from django.db import models
from django.utils import timezone


class SentForm(models.Model):
    """A form sent and recorded: the one-time key it was shown with (`once.services`), the
    form it was sent with (`target`: which case's which step, the intake, a completion's email
    form), and what it recorded (the model's label and the row's key: a case, an incident). The
    same form sent again records nothing a second time; its sender is shown what the first one
    recorded. The key sent with another form is that form's first send."""

    model = models.CharField(max_length=100)  # the recorded row's model, as `app.model`
    key = models.CharField(max_length=64)
    # The form the key was shown with, as its caller names it ("case 12 step investigate");
    # "" for a key kept before the form was (migration 0002).
    target = models.CharField(max_length=100, default="")
    object_id = models.BigIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "key", "target"], name="once_sentform_model_key_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_id} {self.sent_at:%Y-%m-%d %H:%M:%S}"
