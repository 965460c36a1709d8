from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResidentsConfig(AppConfig):
    name = "madoguchi.residents"
    label = "residents"
    verbose_name = _("Residents' own page")

    def ready(self) -> None:
        from . import events, receivers  # noqa: F401 - registers event types and receivers
