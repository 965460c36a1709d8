"""`madoguchi vcard issue|plug`: virtual My Number cards (logic in madoguchi.card.cli)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.card import cli
from madoguchi.cli import PlainErrors


class Command(PlainErrors, BaseCommand):
    help = "Issue a virtual card (test CA) or plug one into the vpcd reader."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_vcard_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        code = cli.run_vcard(options, out=self.stdout, err=self.stderr)
        if code:
            raise SystemExit(code)
