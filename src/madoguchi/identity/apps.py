from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "madoguchi.identity"
    verbose_name = _("Card identity")

    def ready(self) -> None:
        from . import checks, events  # noqa: F401  (register the checks and audit event types)
