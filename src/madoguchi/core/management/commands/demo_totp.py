"""`madoguchi demo_totp`: the current authenticator code of the demo official and operator."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from madoguchi.cli import PlainErrors
from madoguchi.core import demo


class Command(PlainErrors, BaseCommand):
    help = "Print the current TOTP code for the demo accounts (demo mode only)."

    def handle(self, *args: object, **opts: object) -> None:
        if not settings.DEMO:
            raise CommandError(
                f"Only in demo mode: run `{demo.DEMO_CLI} demo_totp` in the folder where "
                "`make demo` runs."
            )
        self.stdout.write(demo.current_totp())
