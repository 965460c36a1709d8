from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    verbose_name = "madoguchi"
