from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OfficialsConfig(AppConfig):
    name = "madoguchi.officials"
    verbose_name = _("Officials' pages")
