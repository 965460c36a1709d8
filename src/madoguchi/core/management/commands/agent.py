"""`madoguchi agent`: the card agent of a desk terminal (logic in madoguchi.agent.cli)."""

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.agent import cli
from madoguchi.cli import PlainErrors


class Command(PlainErrors, BaseCommand):
    help = "Run the card agent: a loopback bridge between the desk page and the card reader."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        code = cli.run(options, out=self.stdout, err=self.stderr)
        if code:
            raise SystemExit(code)
