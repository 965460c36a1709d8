"""`madoguchi organisation add|set-code|list`: the city and its contractors, from the shell.

A new deployment needs them before `madoguchi staff add` and `madoguchi terminal register`
(the demo seeds its own); the admin can edit them later.
"""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.utils import translation

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.events import ORGANISATION_CHANGED
from madoguchi.accounts.models import Organisation
from madoguchi.audit import services as audit
from madoguchi.cli import PlainErrors, name_alike, named_alike


class Command(PlainErrors, BaseCommand):
    help = (
        "The city and its contractors: add (before staff add and terminal register), set-code "
        "(a city's municipality code: its officials see the scan findings of that code), list. "
        "Example: madoguchi organisation add 'Sakai City' --kind city --municipality-code 271403; "
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
        add.add_argument("--municipality-code", default="", help=CODE_HELP)
        code = sub.add_parser("set-code", help="Set (or with '' clear) a city's municipality code.")
        code.add_argument("name", help="The city's name.")
        code.add_argument("municipality_code", help=CODE_HELP)
        sub.add_parser("list", help="List organisations: name, kind, city served, code.")

    def handle(self, *args: object, **opts: object) -> None:
        if opts["action"] == "add":
            self._add(opts)
            return
        if opts["action"] == "set-code":
            # The name trimmed as `add` trims it (' Sakai City' found no such organisation).
            self._set_code(str(opts["name"]).strip(), str(opts["municipality_code"]).strip())
            return
        # Read whole before the header is printed (a database that cannot answer printed the
        # header alone above the error).
        orgs = list(Organisation.objects.select_related("city").order_by("kind", "name"))
        # One header line naming the columns, as `madoguchi sim accounts` prints it.
        self.stdout.write("name\tkind\tcity\tmunicipality_code")
        for org in orgs:
            city = org.city.name if org.city else ""
            self.stdout.write(f"{org.name}\t{org.kind}\t{city}\t{org.municipality_code}")

    def _set_code(self, name: str, code: str) -> None:
        org = Organisation.objects.filter(name=name).first()
        if org is None:
            raise CommandError(f"No organisation named {name!r} (madoguchi organisation list).")
        if org.municipality_code == code:
            # Run again (a setup script): it said "… set to 011002." and recorded a second
            # change nobody made. As `staff flag` says a flag already on.
            said = f"is already {code}" if code else "is already blank"
            self.stdout.write(f"{org.name}'s municipality code {said}; nothing was changed.")
            return
        org.municipality_code = code
        _save(org, change=f"municipality code {code or 'cleared'}")
        said = f"set to {code}" if code else "cleared: its officials see no scan findings"
        self.stdout.write(f"{org.name}'s municipality code {said}.")

    def _add(self, opts: dict[str, object]) -> None:
        name = str(opts["name"]).strip()
        if not name:
            raise CommandError("The organisation's name is empty; give the name staff will see.")
        kind = str(opts["kind"])
        city = None
        # Trimmed as the organisation's own name is (' Sakai City ' was added as 'Sakai City',
        # then --city 'Sakai City ' found no such city).
        opts["city"] = str(opts["city"] or "").strip() or None
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
        # Told apart by more than capital letters ('sakai city' beside 'Sakai City' was added:
        # two organisations read alike in every list, report and staff member's line).
        # Compared in Python (`named_alike`): SQLite's `iexact` folds ASCII capitals only.
        same = named_alike(Organisation.objects.all(), "name", name)
        if same is not None:
            alike = name_alike(same.name, name)
            raise CommandError(f"An organisation named {same.name!r} already exists{alike}.")
        code = str(opts["municipality_code"] or "").strip()
        org = Organisation(name=name, kind=kind, city=city, municipality_code=code)
        _save(org, change=f"added ({kind}{f', serving {city.name}' if city else ''})")
        served = f", serving {city.name}" if city else ""
        coded = f", municipality code {code}" if code else ""
        self.stdout.write(f"Added {org.name} ({org.kind}{served}{coded}).")


CODE_HELP = (
    "A city's 全国地方公共団体コード, six digits (e.g. 271403): its officials see the forensic "
    "scan's findings of this code only, and none while it is blank."
)


def _save(org: Organisation, *, change: str) -> None:
    """Validate as the admin does (six digits, cities only, one city per code), then save with
    an audit event naming the change and the OS user; a refusal names the field and why, in
    English, and saves nothing."""
    code = org.municipality_code
    holder = (
        Organisation.objects.filter(municipality_code=code).exclude(pk=org.pk).first()
        if code
        else None
    )
    if holder is not None:
        raise CommandError(f"The municipality code {code} is already {holder.name}'s.")
    with translation.override("en"):
        try:
            org.full_clean()
        except ValidationError as exc:
            raise CommandError(
                " ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            ) from None
    try:
        with transaction.atomic():
            org.save()
            audit.record(
                ORGANISATION_CHANGED,
                actor=None,
                terminal=None,
                subject=org,
                payload={"name": org.name, "change": change, "os_user": getpass.getuser()},
            )
    except IntegrityError:
        raise CommandError(
            f"{org.name!r} could not be saved: its name or municipality code is already taken."
        ) from None
