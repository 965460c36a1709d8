from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScansConfig(AppConfig):
    name = "madoguchi.scans"
    verbose_name = _("Forensic scans")

    def ready(self) -> None:
        from . import events  # noqa: F401
