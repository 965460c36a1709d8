from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "madoguchi.incidents"
    verbose_name = _("Incidents")

    def ready(self) -> None:
        from . import events, receivers  # noqa: F401
