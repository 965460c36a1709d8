from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles(app_config: AppConfig | None = None, **kwargs: object) -> None:
    """post_migrate is sent once per installed app with models (after every migrate and every
    test-database flush). The roles need every app's permissions, which exist once the last
    app's signal is handled (Django's create_permissions, connected before this, runs first):
    set them then, once, not after each of the ~19 apps (most of a test flush's time)."""
    # Imported when the signal comes: roles reads the auth models, not loaded at app import.
    from .roles import ensure_roles

    with_models = [a for a in apps.get_app_configs() if a.models_module is not None]
    if app_config is not None and with_models and app_config is not with_models[-1]:
        return
    ensure_roles()


class AccountsConfig(AppConfig):
    name = "madoguchi.accounts"
    verbose_name = _("Staff and organisations")

    def ready(self) -> None:
        from . import events, receivers  # noqa: F401

        post_migrate.connect(_ensure_roles, dispatch_uid="madoguchi.accounts.roles")
