from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    verbose_name = "madoguchi"

    def ready(self) -> None:
        from django.conf import settings

        from . import checks  # noqa: F401 (registers the deploy checks)

        if settings.MADOGUCHI_BENCH:
            from .bench import server

            server.install()
