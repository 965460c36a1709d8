from django.db import models
from django.utils.translation import gettext_lazy as _


class NoncePurpose(models.TextChoices):
    AUTHENTICATION = "authentication", _("Start of a visit")
    COMPLETION = "completion", _("Completion")
