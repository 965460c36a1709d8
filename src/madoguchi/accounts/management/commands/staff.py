"""`madoguchi staff add|totp|list`: manage staff accounts from the shell."""

import getpass

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.audit import services as audit
from madoguchi.audit.events import ACCOUNTS_TOTP_DEVICE_ADDED


class Command(BaseCommand):
    help = "Manage staff accounts: add, totp (enrol an authenticator), list."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a staff member with a role.")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=[r.value for r in Role])
        add.add_argument("--organisation", required=True, help="Organisation name.")
        add.add_argument("--display-name", default="")
        add.add_argument("--password", help="Prompted for when omitted.")
        totp = sub.add_parser("totp", help="Enrol a TOTP authenticator; prints its otpauth URI.")
        totp.add_argument("username")
        sub.add_parser("list", help="List staff members and their roles.")

    def handle(self, *args: object, **opts: object) -> None:
        action = opts["action"]
        if action == "add":
            self._add(opts)
        elif action == "totp":
            self._totp(str(opts["username"]))
        else:
            for user in User.objects.order_by("username").prefetch_related("groups"):
                roles = ",".join(sorted(user.roles))
                self.stdout.write(f"{user.username}\t{user.organisation}\t{roles}")

    def _add(self, opts: dict[str, object]) -> None:
        org = Organisation.objects.filter(name=opts["organisation"]).first()
        if org is None:
            raise CommandError(f"No organisation named {opts['organisation']!r}.")
        if User.objects.filter(username=opts["username"]).exists():
            raise CommandError(f"A user named {opts['username']!r} already exists.")
        password = opts["password"] or getpass.getpass("Password: ")
        with transaction.atomic():
            user = User.objects.create_user(
                username=str(opts["username"]),
                password=str(password),
                display_name=str(opts["display_name"]),
                organisation=org,
            )
            user.groups.add(Group.objects.get(name=opts["role"]))
        self.stdout.write(f"Created {user.username} ({opts['role']}).")

    def _totp(self, username: str) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
            audit.record(
                ACCOUNTS_TOTP_DEVICE_ADDED,
                actor=None,
                terminal=None,
                subject=user,
                payload={"username": username},
            )
        self.stdout.write(device.config_url)
