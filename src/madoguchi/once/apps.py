from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OnceConfig(AppConfig):
    name = "madoguchi.once"
    verbose_name = _("Forms recorded once")
