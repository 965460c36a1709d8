"""`madoguchi card readers|show|auth`: a card in a PC/SC reader (logic in madoguchi.card.cli)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.card import cli
from madoguchi.cli import PlainErrors


class Command(PlainErrors, BaseCommand):
    help = "List readers, show a card, or sign a random challenge with its auth key."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_card_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        code = cli.run_card(options, out=self.stdout, err=self.stderr)
        if code:
            raise SystemExit(code)
