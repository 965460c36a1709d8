from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(**kwargs: object) -> None:
    from .roles import ensure_roles

    ensure_roles()


class AccountsConfig(AppConfig):
    name = "madoguchi.accounts"
    verbose_name = _("Staff and organisations")

    def ready(self) -> None:
        from . import events, receivers  # noqa: F401

        post_migrate.connect(_ensure_roles, dispatch_uid="madoguchi.accounts.roles")
