from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "madoguchi.benefits"
    verbose_name = _("Benefits")

    def ready(self) -> None:
        from . import events, procedures, receivers  # noqa: F401  (registrations)
