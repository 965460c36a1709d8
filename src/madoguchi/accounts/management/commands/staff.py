"""`madoguchi staff add|totp|list|grant|revoke|flag|password|unlock`: manage staff accounts from the
shell.

Roles and the admin/superuser flags change only here (the admin shows them read-only); each
change is an audit event naming who made it (`--by`, a staff user name) and the OS user, as is
a password an operator sets (`password`, never the password itself); adding a member and
enrolling an authenticator are audit events naming the OS user. Django's own `createsuperuser`
and `changepassword`, and django-axes's lockout resets, which audit nothing, are refused from the
shell (the commands beside this).
"""

import getpass
import sys
from typing import Any, TextIO

from axes.utils import reset as axes_reset
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.accounts.constants import Role
from madoguchi.accounts.events import (
    LOCKOUT_LIFTED,
    PASSWORD_SET,
    PRIVILEGES_CHANGED,
    STAFF_ADDED,
    TOTP_DEVICE_REPLACED,
)
from madoguchi.accounts.models import Organisation, User
from madoguchi.accounts.services import official_outside_a_city
from madoguchi.audit import services as audit
from madoguchi.audit.events import ACCOUNTS_TOTP_DEVICE_ADDED, EventType
from madoguchi.cli import Interrupted, PlainErrors, counted, field_rules, name_alike, named_alike
from madoguchi.plaintext import long_number
from madoguchi.terminals.constants import DeskSessionCloseReason
from madoguchi.terminals.models import DeskSession
from madoguchi.terminals.services import desk_session_close


class Command(PlainErrors, BaseCommand):
    help = (
        "Manage staff accounts: add, totp (enrol an authenticator), list, grant and revoke "
        "a role, flag (admin access or superuser), password (set a member's password), unlock "
        "(lift a sign-in lockout)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Create a staff member with a role.")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=[r.value for r in Role])
        add.add_argument("--organisation", required=True, help="Organisation name.")
        add.add_argument("--display-name", default="")
        # The password is asked for twice (typed, not shown) unless read from standard input:
        # a password on the command line stays in the shell's history and shows in `ps`.
        given = add.add_mutually_exclusive_group()
        given.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input, its first line (for scripts: "
            "printf '%%s\\n' \"$PASSWORD\" | madoguchi staff add ... --password-stdin). Without "
            "it the password is asked for twice. Checked by the same rules as a password "
            "changed in the admin.",
        )
        given.add_argument(
            "--password",
            help="Kept for old scripts, with a warning: the password stays in the shell's "
            "history and shows in the process list; use --password-stdin.",
        )
        totp = sub.add_parser(
            "totp",
            help="Enrol a TOTP authenticator; prints its otpauth URI. Refused when the member "
            "already has one, unless --replace.",
        )
        totp.add_argument("username")
        totp.add_argument(
            "--replace",
            action="store_true",
            help="Remove the member's earlier authenticator (it stops working) and enrol a new "
            "one, audited: for a lost or changed phone.",
        )
        sub.add_parser("list", help="List staff members and their roles.")
        for name, text in (("grant", "Give a role."), ("revoke", "Take a role away.")):
            p = sub.add_parser(name, help=f"{text} Audited, naming who did it.")
            p.add_argument("username")
            p.add_argument("role", choices=[r.value for r in Role])
            p.add_argument(
                "--by", required=True, help="User name of the operator doing this (refused else)."
            )
        flag = sub.add_parser(
            "flag",
            help="Set admin access (staff), superuser or the account itself (active: off for a "
            "member who left; their sign-ins and desk sessions end at once) on or off. Audited.",
        )
        flag.add_argument("username")
        flag.add_argument("flag", choices=list(FLAG_FIELDS))
        flag.add_argument("state", choices=["on", "off"])
        flag.add_argument(
            "--by", required=True, help="User name of the operator doing this (refused else)."
        )

        password = sub.add_parser(
            "password",
            help="Set a member's password (forgotten, or after a sign-in lockout): asked for "
            "twice, or --password-stdin. Audited, naming who did it (never the password); the "
            "member's open sign-ins end and their sign-in lockout is lifted.",
        )
        password.add_argument("username")
        password.add_argument(
            "--by", required=True, help="User name of the operator doing this (refused else)."
        )
        password.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input, its first line (for scripts). Without "
            "it the password is asked for twice.",
        )

        unlock = sub.add_parser(
            "unlock",
            help="Lift the sign-in lockout a member's name is under after failed sign-ins "
            "(before its cool-off ends). Audited, naming who did it.",
        )
        unlock.add_argument("username")
        unlock.add_argument(
            "--by", required=True, help="User name of the operator doing this (refused else)."
        )

    def handle(self, *args: object, **opts: object) -> None:
        action = opts["action"]
        if action == "add":
            self._add(opts)
        elif action == "password":
            self._password(opts)
        elif action == "unlock":
            self._unlock(opts)
        elif action == "totp":
            self._totp(str(opts["username"]), replace=bool(opts.get("replace")))
        elif action in ("grant", "revoke", "flag"):
            self._privileges(str(action), opts)
        else:
            users = User.objects.order_by("username").select_related("organisation")
            # Read whole before the header is printed (a database that cannot answer printed
            # the header alone above the error).
            rows = []
            for user in users.prefetch_related("groups"):
                roles = ",".join(sorted(user.roles))
                # An account of no organisation (the resident page's) printed "None".
                organisation = user.organisation.name if user.organisation else ""
                active = "yes" if user.is_active else "no"
                rows.append(f"{user.username}\t{organisation}\t{roles}\t{active}")
            # One header line naming the columns, as `madoguchi sim accounts` prints it.
            self.stdout.write("username\torganisation\troles\tactive")
            for row in rows:
                self.stdout.write(row)

    def _add(self, opts: dict[str, object]) -> None:
        org = Organisation.objects.filter(name=opts["organisation"]).first()
        if org is None:
            raise CommandError(
                f"No organisation named {opts['organisation']!r}; list them with "
                "madoguchi organisation list, add one with madoguchi organisation add."
            )
        # As `create_user` stores it (`normalize_username`, NFKC), so that the checks below
        # read the name that would be created: 'ｄｅｓｋ１' (an IME left on full-width) was checked
        # as typed, found free, and stored as 'desk1' beside desk1, the unique constraint's
        # traceback after the password was read (side doors round 22, probe R2).
        username = User.normalize_username(str(opts["username"]))
        if not username:
            # The field's rules pass an empty value (they leave it to the form): it was Django's
            # "The given username must be set" traceback, after the password had been read.
            raise CommandError(
                "The user name is empty; give the name the member signs in with. Nobody was added."
            )
        # Told apart by more than capital letters, as the admin's add form refuses it
        # (`UserCreationForm.clean_username`): `Desk1` beside `desk1` was created, two members
        # read alike in `staff list`, the audit log and the reports.
        same = named_alike(User.objects.all(), "username", username)
        if same is not None:
            raise CommandError(_exists(same.username, str(opts["username"])))
        _role_fits(str(opts["role"]), org, "Nobody was added.")
        if long_number(username):
            raise CommandError(
                "The user name holds a long number (12 digits or more), which "
                "the audit log and the sign-in refuse as an individual number; choose another "
                "name. Nobody was added."
            )
        with translation.override("en"):  # before the password is asked for
            # The fields' own rules (the admin's; the display name's `plain_name` among them):
            # a user name of 151 characters, or with a space, was created on SQLite, and on
            # PostgreSQL a long one ended in the database's traceback.
            for words, field, value in (
                ("user name", "username", username),
                ("display name", "display_name", str(opts["display_name"])),
            ):
                try:
                    field_rules(User, field, value)
                except ValidationError as exc:
                    raise CommandError(
                        f"{words}: {' '.join(exc.messages)} Nobody was added."
                    ) from None
        if opts.get("password"):
            password = str(opts["password"])
            self.stderr.write(
                "Warning: --password leaves the password in the shell's history and shows it "
                "in the process list; use --password-stdin, or leave both out to be asked."
            )
        elif opts.get("password_stdin"):
            password = _read_password(sys.stdin)
        else:
            password = _ask_password()
        candidate = User(username=username, display_name=str(opts["display_name"]))
        _check_password(password, candidate, "nobody was added")
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    username=username,
                    password=password,
                    display_name=str(opts["display_name"]),
                    organisation=org,
                )
                user.groups.add(Group.objects.get(name=opts["role"]))
                _record_by_os_user(  # who was added, with which role; never the password
                    STAFF_ADDED,
                    user,
                    display_name=user.display_name,
                    role=str(opts["role"]),
                    organisation=org.name,
                )
        except IntegrityError:
            # Added by another command between the check above and this one (two `staff add`
            # of one name at once): the same sentence, not the database's traceback.
            same = named_alike(User.objects.all(), "username", username)
            if same is not None:
                raise CommandError(_exists(same.username, str(opts["username"]))) from None
            raise
        self.stdout.write(f"Created {user.username} ({opts['role']}).")

    def _password(self, opts: dict[str, object]) -> None:
        """An operator sets a member's password: checked by the admin's rules, audited with
        who did it (never the password). The member's sessions end with it (Django's sessions
        hold a hash of the password) and a sign-in lockout on their name is lifted, which is
        what the member asked for."""
        user = _member(str(opts["username"]))
        by = _operator_by(str(opts["by"]), "passwords are set")
        if not user.is_active:
            raise CommandError(
                f"{user.username} is not active and cannot sign in with any password; nothing "
                "was changed."
            )
        outcome = "nothing was changed"
        if opts.get("password_stdin"):
            password = _read_password(sys.stdin, outcome=outcome, command="staff password")
        else:
            password = _ask_password(outcome=outcome)
        _check_password(password, user, outcome)
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            user.set_password(password)
            user.save(update_fields=["password"])
            lifted = int(axes_reset(username=user.username) or 0)
            _record_by_operator(PASSWORD_SET, by, user, lockout_cleared=lifted)
        self.stdout.write(
            f"{user.username}: password set (by {by.username}, audited); their open sign-ins "
            "end at their next request"
            + (", and the lockout after failed sign-ins is lifted." if lifted else ".")
        )

    def _unlock(self, opts: dict[str, object]) -> None:
        """The lockout after failed sign-ins lifted before its cool-off, audited (Django-axes's
        own `axes_reset*` commands, which audit nothing, are refused at the shell)."""
        user = _member(str(opts["username"]))
        by = _operator_by(str(opts["by"]), "lockouts are lifted")
        with transaction.atomic():
            lifted = int(axes_reset(username=user.username) or 0)
            if lifted:
                _record_by_operator(LOCKOUT_LIFTED, by, user, attempts=lifted)
        if not lifted:
            self.stdout.write(
                f"{user.username} has no failed sign-ins on record; nothing was changed."
            )
            return
        self.stdout.write(
            f"{user.username}: the lockout after failed sign-ins is lifted (by {by.username}, "
            "audited); they can sign in again at once."
        )

    def _totp(self, username: str, *, replace: bool) -> None:
        """One authenticator per member: a second one beside the first would leave a lost
        phone able to sign in, so an earlier one is replaced (removed, audited) or the
        enrolment refused."""
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)  # one enrolment at a time
            earlier = TOTPDevice.objects.filter(user=user)
            removed = earlier.count()
            if removed and not replace:
                raise CommandError(
                    f"{username} already has an authenticator; nothing was changed. To replace "
                    f"it (the earlier one stops working): madoguchi staff totp {username} --replace"
                )
            earlier.delete()
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
            if removed:
                _record_by_os_user(TOTP_DEVICE_REPLACED, user, removed=str(removed))
            else:
                _record_by_os_user(ACCOUNTS_TOTP_DEVICE_ADDED, user)
        self.stdout.write(device.config_url)
        if removed:
            self.stderr.write(
                f"{username}'s earlier authenticator was removed: its codes are no longer "
                "accepted (audited)."
            )
        self.stderr.write(
            f"Add it to {username}'s authenticator app (most scan it as a QR code, or take its "
            "secret); sign-in then asks for the app's 6-digit code."
        )

    def _privileges(self, action: str, opts: dict[str, object]) -> None:
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user named {opts['username']!r}.")
        by = _operator_by(str(opts["by"]), "roles and flags are changed")
        field = FLAG_FIELDS.get(str(opts.get("flag")), "")
        if action == "flag" and field == "is_active" and opts["state"] == "off" and by == user:
            raise CommandError(
                f"{user.username} cannot close their own account: another operator does it "
                "(--by THEIR NAME). Nothing was changed."
            )
        if action == "revoke" and opts.get("role") == Role.OPERATOR and by == user:
            # As closing their own account: an operator who took their own role away left no
            # one to run the --by commands when they were the only one.
            raise CommandError(
                f"{user.username} cannot take away their own operator role: another operator "
                "does it (--by THEIR NAME). Nothing was changed."
            )
        group = Group.objects.filter(name=opts.get("role")).first()
        if action == "flag":
            change = f"{opts['flag']} {opts['state']}"
        else:
            if group is None:
                raise CommandError(f"No role {opts['role']!r} (run madoguchi migrate).")
            change = f"{action} {opts['role']}"
            if action == "grant":
                _role_fits(str(opts["role"]), user.organisation, "Nothing was granted.")
        with transaction.atomic():
            # The member changed and the operator changing them, locked in one order: two
            # operators taking each other's role (or closing each other's account) at the same
            # moment each passed the check above, and left no operator. The second, waiting
            # for the first, finds it is no longer one.
            locked = {
                u.pk: u
                for u in User.objects.select_for_update()
                .filter(pk__in={user.pk, by.pk})
                .order_by("pk")
            }
            user, by = locked[user.pk], locked[by.pk]
            if not (by.is_active and (by.is_superuser or by.has_role(Role.OPERATOR))):
                raise CommandError(
                    f"--by: {by.username} is no longer an active operator (changed at the same "
                    "moment by another command). Nothing was changed."
                )
            if _already(user, action, field, opts, group):
                # A change that changes nothing is said so, and no event claims one.
                self.stdout.write(f"{_as_it_stands(user, action, opts)}; nothing was changed.")
                return
            if action == "flag":
                setattr(user, field, opts["state"] == "on")
                user.save(update_fields=[field])
            elif group is not None and action == "grant":
                user.groups.add(group)
            elif group is not None:
                user.groups.remove(group)
            _record_by_operator(
                PRIVILEGES_CHANGED,
                by,
                user,
                change=change,
                roles=sorted(user.roles),
                staff=user.is_staff,
                superuser=user.is_superuser,
                active=user.is_active,
            )
        self.stdout.write(f"{user.username}: {change} (by {by.username}, audited).")
        if field == "is_active" and action == "flag":
            if user.is_active:
                self.stdout.write(f"{user.username} can sign in again.")
                return
            # After the account's own change (its row lock released): each open desk session
            # signed out, audited, its open visit ended, the terminal free for the next member.
            closed = _close_desk_sessions(user, by)
            self.stdout.write(
                f"{user.username} can no longer sign in; their open sign-ins end at their next "
                f"request"
                + (
                    f", and {counted(closed, 'open desk session')} "
                    f"{'is' if closed == 1 else 'are'} signed out (audited)."
                    if closed
                    else "."
                )
            )
            return
        if user.requires_totp and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            self.stdout.write(
                f"{user.username} now needs an authenticator to sign in: "
                f"madoguchi staff totp {user.username}"
            )


def _exists(existing: str, given: str) -> str:
    """The refusal of a user name taken, or taken but for its capitals."""
    alike = name_alike(existing, given)
    return f"A user named {existing!r} already exists{alike}. Nobody was added."


def _already(user: User, action: str, field: str, opts: dict[str, object], group: Any) -> bool:
    """Whether the grant, revoke or flag asked for is already so (a role held or not held, a
    flag already on or off)."""
    if action == "flag":
        return bool(getattr(user, field)) == (opts["state"] == "on")
    held = user.groups.filter(pk=group.pk).exists() if group is not None else False
    return held if action == "grant" else not held


def _as_it_stands(user: User, action: str, opts: dict[str, object]) -> str:
    """What is already so, for a grant, revoke or flag that changes nothing, as a sentence
    (it read "desk1: already revoke operator")."""
    if action == "grant":
        return f"{user.username} already holds the role {opts['role']}"
    if action == "revoke":
        return f"{user.username} does not hold the role {opts['role']}"
    return f"{user.username}'s {opts['flag']} flag is already {opts['state']}"


def _close_desk_sessions(user: User, by: User) -> int:
    """Sign out the member's open desk sessions (a member whose account was closed)."""
    sessions = list(DeskSession.objects.filter(staff=user, closed_at__isnull=True))
    for session in sessions:
        desk_session_close(session=session, reason=DeskSessionCloseReason.SIGNED_OUT, actor=by)
    return len(sessions)


# `staff flag NAME FLAG on|off`: the account field each flag sets.
FLAG_FIELDS = {"staff": "is_staff", "superuser": "is_superuser", "active": "is_active"}


def _role_fits(role: str, org: Organisation | None, outcome: str) -> None:
    if official_outside_a_city({role}, org):
        where = f"{org.name!r} is a {org.kind}" if org else "they have no organisation"
        raise CommandError(
            f"A city official belongs to a city, and {where}; add the official to the city's "
            f"organisation (madoguchi organisation list shows each one's kind). {outcome}"
        )


def _member(name: str) -> User:
    """The staff member named `name`; refused, nothing changed, when there is none."""
    user = User.objects.filter(username=name).first()
    if user is None:
        raise CommandError(f"No user named {name!r}; nothing was changed.")
    return user


def _check_password(password: str, user: User, outcome: str) -> None:
    """Refuse `password` for `user` by the rules the admin's forms check, saying why and
    `outcome`, in English as the command's other sentences are."""
    with translation.override("en"):
        try:
            validate_password(password, user)
        except ValidationError as exc:
            said = " ".join(str(m) for m in exc.messages)
            raise CommandError(f"Password refused, {outcome}: {said}") from None


def _operator_by(name: str, what: str) -> User:
    """The operator a change is made by (`--by`): the audit event names them as who made it,
    so any other member's name is refused (a desk member's own, for their own new role, was
    taken: a walk of the README)."""
    by = User.objects.filter(username=name, is_active=True).first()
    if by is None:
        raise CommandError(f"--by: no active staff member named {name!r}.")
    if not (by.is_superuser or by.has_role(Role.OPERATOR)):
        raise CommandError(
            f"--by: {by.username} is not an operator; {what} by an operator "
            "(madoguchi staff list shows who is). Nothing was changed."
        )
    return by


def _record_by_operator(event: EventType, by: User, user: User, **more: object) -> None:
    """An audit event about `user` made from the shell by the operator `by` (`--by`): the
    operator is its actor, and the OS user who ran the command is named too."""
    audit.record(
        event,
        actor=by,
        terminal=None,
        subject=user,
        payload={
            "username": user.username,
            "by": by.username,
            "os_user": getpass.getuser(),
            **more,
        },
    )


def _record_by_os_user(event: EventType, user: User, **more: str) -> None:
    """An audit event about `user` made from the shell: no staff actor, the OS user named."""
    audit.record(
        event,
        actor=None,
        terminal=None,
        subject=user,
        payload={"username": user.username, **more, "os_user": getpass.getuser()},
    )


# Longer than any password a person types; a whole file piped in by mistake is not read.
PASSWORD_STDIN_LIMIT = 4096


def _read_password(
    stream: TextIO, *, outcome: str = "nobody was added", command: str = "staff add"
) -> str:
    """The password on the first line of `stream` (its line ending removed, nothing else);
    a refusal says why, and `outcome`."""
    if stream.isatty():
        # Typed at a terminal, the line would show on the screen as it is typed (and stay in
        # its scrollback): --password-stdin is for a pipe; the prompt hides what is typed.
        raise CommandError(
            "--password-stdin reads a password piped in, and standard input here is the "
            f"terminal, where the password would show as it is typed; {outcome}. Leave "
            "--password-stdin out to be asked for it without it showing."
        )
    try:
        line = stream.readline(PASSWORD_STDIN_LIMIT + 1)
    except KeyboardInterrupt:  # waiting for a pipe that never wrote
        raise Interrupted(outcome) from None
    if len(line) > PASSWORD_STDIN_LIMIT:
        raise CommandError(
            f"The password on standard input is longer than {PASSWORD_STDIN_LIMIT} "
            f"characters, {outcome}; give the password alone, on one line."
        )
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise CommandError(
            f"No password on standard input, {outcome}: --password-stdin reads it "
            f"from the first line (printf '%s\\n' \"$PASSWORD\" | madoguchi {command} ...)."
        )
    return password


def _ask_password(*, outcome: str = "nobody was added") -> str:
    """The password, typed twice (two lines when piped); a refusal says why, and `outcome`."""
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
    except EOFError:
        raise CommandError(
            f"No password given, {outcome}: type it when asked (twice), or pipe it in "
            "with --password-stdin."
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(outcome) from None
    if first != second:
        raise CommandError(f"The two passwords differ, {outcome}; run it again.")
    if not first:
        raise CommandError(f"The password is empty, {outcome}.")
    return first
