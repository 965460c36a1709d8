"""`madoguchi organisation add|list`: the city and the contractors serving it, from the shell.

A new deployment needs them before `madoguchi staff add` and `madoguchi terminal register`
(the demo seeds its own); the admin can edit them later.
"""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from madoguchi.cli import PlainErrors


class Command(PlainErrors, BaseCommand):
    help = (
        "The city and its contractors: add (before staff add and terminal register), list. "
        "Example: madoguchi organisation add 'Sakai City' --kind city; "
        "madoguchi organisation add 'Desk Contractor Ltd' --kind contractor --city 'Sakai City'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser(
            "add",
            help="Add a city, or a contractor that runs desks for one (--city names it).",
        )
        add.add_argument("name", help="The organisation's name, as staff and reports show it.")
        add.add_argument(
            "--kind",
            required=True,
            choices=[k.value for k in OrganisationKind],
            help="city: the municipality itself; contractor: runs desks for a city.",
        )
        add.add_argument("--city", help="For a contractor: the name of the city it serves.")
        sub.add_parser("list", help="List organisations: name, kind, city served.")

    def handle(self, *args: object, **opts: object) -> None:
        if opts["action"] == "add":
            self._add(opts)
            return
        for org in Organisation.objects.select_related("city").order_by("kind", "name"):
            self.stdout.write(f"{org.name}\t{org.kind}\t{org.city.name if org.city else ''}")

    def _add(self, opts: dict[str, object]) -> None:
        name = str(opts["name"]).strip()
        if not name:
            raise CommandError("The organisation's name is empty; give the name staff will see.")
        kind = str(opts["kind"])
        city = None
        if kind == OrganisationKind.CONTRACTOR:
            if not opts["city"]:
                raise CommandError(
                    "A contractor serves a city: name it with --city (add the city first)."
                )
            city = Organisation.objects.filter(name=opts["city"]).first()
            if city is None:
                raise CommandError(
                    f"No organisation named {opts['city']!r}; add the city first "
                    f"(madoguchi organisation add NAME --kind city)."
                )
            if city.kind != OrganisationKind.CITY:
                raise CommandError(f"{city.name!r} is a {city.kind}, not a city.")
        elif opts["city"]:
            raise CommandError("--city is for a contractor; a city serves itself.")
        try:
            with transaction.atomic():
                org = Organisation.objects.create(name=name, kind=kind, city=city)
        except IntegrityError:
            raise CommandError(f"An organisation named {name!r} already exists.") from None
        served = f", serving {city.name}" if city else ""
        self.stdout.write(f"Added {org.name} ({org.kind}{served}).")
