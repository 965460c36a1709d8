"""`madoguchi checklist install-default`: install the desk manual's checklist as version 1."""

from django.core.management.base import BaseCommand, CommandParser

from madoguchi.checklists import services
from madoguchi.cli import PlainErrors


class Command(PlainErrors, BaseCommand):
    help = "Desk checklists: install-default (idempotent), show (the active version's items)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["install-default", "show"])

    def handle(self, *args: object, **opts: object) -> None:
        if opts["action"] == "install-default":
            template = services.template_install_default()
            self.stdout.write(
                f"Checklist {template} ({'active' if template.is_active else 'inactive'})."
            )
            return
        active = services.template_active()
        if active is None:
            self.stdout.write("No active checklist. Run: madoguchi checklist install-default")
            return
        self.stdout.write(f"{active}:")
        for item in active.items.all():
            flag = "required" if item.required else "optional"
            kinds = ",".join(item.procedures) or "all"
            self.stdout.write(f"  [{item.stage}] {item.code} ({flag}; {kinds}): {item.label_ja}")
