"""`madoguchi terminal register|credential|revoke|unbind|list`.

Each change is an audit event naming the OS user who ran the command (`os_user`)."""

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.accounts.models import Organisation
from madoguchi.cli import PlainErrors, counted, field_rules, name_alike, named_alike
from madoguchi.terminals import services
from madoguchi.terminals.constants import CREDENTIAL_SCHEME
from madoguchi.terminals.models import Terminal, TerminalCredential


class Command(PlainErrors, BaseCommand):
    help = (
        "Register desk terminals, issue or revoke their credentials, unbind a terminal's "
        "browser, list them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reg = sub.add_parser("register", help="Register a terminal.")
        reg.add_argument("name")
        reg.add_argument("--location", required=True)
        reg.add_argument("--contractor", required=True, help="Contractor organisation name.")
        cred = sub.add_parser("credential", help="Issue a credential (printed once).")
        cred.add_argument("name")
        rev = sub.add_parser(
            "revoke",
            help="Revoke a credential by its prefix (terminal list prints them; the whole "
            "credential as printed is taken too).",
        )
        rev.add_argument("prefix")
        unbind = sub.add_parser("unbind", help="Unbind the terminal's enrolled browser.")
        unbind.add_argument("name")
        sub.add_parser(
            "list", help="List terminals: name, location, contractor, active credentials."
        )

    def handle(self, *args: object, **opts: object) -> None:
        action = opts["action"]
        if action == "register":
            # Trimmed as `organisation add` trims a name: 'kita-01 ' (a pasted line) beside
            # kita-01 was a second terminal printed like the first everywhere it is named.
            name, location = str(opts["name"]).strip(), str(opts["location"]).strip()
            for words, value in (("name", name), ("location", location)):
                if not value:
                    # The fields' own rules pass an empty value (they leave it to the form):
                    # a terminal with no name was registered, a blank row and a blank button.
                    raise CommandError(
                        f"The terminal's {words} is empty; give the {words} staff will see. "
                        "Nothing was registered."
                    )
            contractor = Organisation.objects.filter(
                name=opts["contractor"], kind=OrganisationKind.CONTRACTOR
            ).first()
            if contractor is None:
                raise CommandError(
                    f"No contractor named {opts['contractor']!r}; list them with madoguchi "
                    "organisation list, add one with madoguchi organisation add NAME "
                    "--kind contractor --city CITY."
                )
            # Told apart by more than capital letters, as staff members' names are.
            # Compared in Python (`named_alike`): SQLite's `iexact` folds ASCII capitals only.
            same = named_alike(Terminal.objects.all(), "name", name)
            if same is not None:
                alike = name_alike(same.name, name)
                raise CommandError(
                    f"A terminal named {same.name!r} already exists{alike}. Nothing was registered."
                )
            with translation.override("en"):
                for field, value in (("name", name), ("location", location)):
                    try:
                        # The field's own rules, `plain_name` and its length among them: a
                        # name of 500 characters was registered on SQLite, and on PostgreSQL
                        # ended in the database's traceback.
                        field_rules(Terminal, field, value)
                    except ValidationError as exc:
                        raise CommandError(
                            f"{field}: {' '.join(exc.messages)} Nothing was registered."
                        ) from None
            t = services.terminal_register(
                name=name,
                location=location,
                contractor=contractor,
                actor=None,
                os_user=getpass.getuser(),
            )
            self.stdout.write(f"Registered terminal {t.name}.")
        elif action == "credential":
            terminal = _terminal(str(opts["name"]))
            issued = services.credential_issue(
                terminal=terminal, actor=None, os_user=getpass.getuser()
            )
            self.stdout.write(issued.raw)
        elif action == "revoke":
            # The prefix as `terminal list` prints it, or the credential as `terminal
            # credential` printed it (`mdt_<prefix>_<secret>`) or its head: only the bare middle
            # part was taken, which nothing printed on its own.
            given = str(opts["prefix"]).strip()
            parts = given.split("_")
            prefix = parts[1] if parts[0] == CREDENTIAL_SCHEME and len(parts) > 1 else given
            credential = TerminalCredential.objects.filter(prefix=prefix).first()
            if credential is None:
                raise CommandError(
                    f"No credential with prefix {prefix!r}: `madoguchi terminal list` prints each "
                    "terminal's credential prefixes (the part after mdt_ of what `terminal "
                    "credential` printed)."
                )
            if credential.revoked_at is not None:
                # It printed "Revoked …" again, with nothing recorded: as `staff flag` says it.
                when = timezone.localtime(credential.revoked_at)
                self.stdout.write(
                    f"{credential.prefix} (terminal {credential.terminal.name}) was already "
                    f"revoked on {when:%Y-%m-%d %H:%M %Z}; nothing was changed."
                )
                return
            services.credential_revoke(credential=credential, actor=None, os_user=getpass.getuser())
            self.stdout.write(f"Revoked {credential.prefix}.")
        elif action == "unbind":
            terminal = _terminal(str(opts["name"]))
            count = services.binding_revoke(
                terminal=terminal, actor=None, os_user=getpass.getuser()
            )
            if not count:
                # It said "Unbound 0 browsers of NAME; enrol it again." when none was enrolled.
                self.stdout.write(f"No browser is enrolled as {terminal.name}: nothing to unbind.")
            else:
                self.stdout.write(
                    f"Unbound {counted(count, 'browser')} of {terminal.name}; enrol it again."
                )
        else:
            # One header line naming the columns, as `madoguchi sim accounts` prints it.
            # The last column, the active credentials' prefixes: what `terminal revoke` takes.
            # Read whole before the header is printed (a database that cannot answer printed
            # the header alone above the error).
            rows = []
            for t in Terminal.objects.order_by("name"):
                prefixes = list(
                    t.credentials.filter(revoked_at__isnull=True)
                    .order_by("created_at")
                    .values_list("prefix", flat=True)
                )
                rows.append(
                    f"{t.name}\t{t.location}\t{t.contractor}\t{len(prefixes)}\t{','.join(prefixes)}"
                )
            self.stdout.write("name\tlocation\tcontractor\tactive_credentials\tprefixes")
            for row in rows:
                self.stdout.write(row)


def _terminal(given: str) -> Terminal:
    """The terminal `terminal register` registered under the name given: trimmed as register
    trims it, and read alike as register refuses a twin (`named_alike`). A script passing
    'kita-01 ' to register and then to credential was refused "No terminal named 'kita-01 '"
    (side doors round 22, probe R2)."""
    terminal = named_alike(Terminal.objects.all(), "name", given.strip())
    if terminal is None:
        raise CommandError(f"No terminal named {given.strip()!r}.")
    return terminal
