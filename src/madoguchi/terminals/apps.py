from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerminalsConfig(AppConfig):
    name = "madoguchi.terminals"
    verbose_name = _("Terminals")

    def ready(self) -> None:
        from . import events  # noqa: F401
