from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "madoguchi.core"
    verbose_name = "madoguchi"

    def ready(self) -> None:
        from . import checks  # noqa: F401 (registers the deploy checks)

        if settings.MADOGUCHI_BENCH:
            # The bench's server views only in a bench run (Django app loading: ready()).
            from .bench import server

            server.install()
