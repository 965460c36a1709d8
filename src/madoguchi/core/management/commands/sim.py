"""`madoguchi sim serve provider|bank|insurer` and `madoguchi sim accounts`.

A thin wrapper: the simulators are Django-free (madoguchi.outside.sim.cli does the work, and
`python -m madoguchi.outside.sim` runs the same thing without Django).
"""

import argparse

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.cli import PlainErrors
from madoguchi.outside.sim import cli


class Command(PlainErrors, BaseCommand):
    help = "Run a simulated outside system (payment provider, bank, insurer) or list its accounts."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: object, **options: object) -> None:
        code = cli.run(argparse.Namespace(**options), out=self.stdout)
        if code:
            what = (
                "the simulator did not start" if options["action"] == "serve" else "nothing printed"
            )
            raise CommandError(what, returncode=code)
