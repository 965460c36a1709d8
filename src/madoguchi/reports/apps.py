from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "madoguchi.reports"
    verbose_name = _("Contractor reports")

    def ready(self) -> None:
        from . import events  # noqa: F401
