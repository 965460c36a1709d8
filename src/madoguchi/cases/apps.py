from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "madoguchi.cases"
    verbose_name = _("Remediation cases")

    def ready(self) -> None:
        from . import checks, events  # noqa: F401
