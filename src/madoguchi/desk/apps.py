from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    name = "madoguchi.desk"
    verbose_name = _("Desk visits")

    def ready(self) -> None:
        from . import checks, events, receivers  # noqa: F401
