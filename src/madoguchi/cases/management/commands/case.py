"""`madoguchi case legacy-link CASE-00001 …`: record a link made before signed completion (from
the old system's records) and attach it to a case; the same as the case page's form."""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from madoguchi.accounts.models import User
from madoguchi.cases import legacy, remedy, selectors, services
from madoguchi.cases.constants import DatePrecision
from madoguchi.cases.forms import LegacyLinkForm
from madoguchi.cases.models import Case
from madoguchi.cli import PlainErrors, read_text_file
from madoguchi.era import date_argument


def _case(ref: str) -> Case:
    digits = ref.upper().removeprefix("CASE-")
    case = Case.objects.filter(pk=int(digits)).first() if digits.isdigit() else None
    if case is None:
        raise CommandError(f"No case {ref!r} (give CASE-00001 or its number).")
    return case


# The old terminal's records of one case: lines of "time, event, resident", a few kB at most.
SESSION_LOG_LIMIT = 1_000_000


# The command's free-text options and the case page's form fields they fill.
_TEXT_OPTIONS = (
    ("--resident", "resident", "resident_label"),
    ("--provider", "provider", "provider_name"),
    ("--desk", "desk", "desk_location"),
    ("--source", "source", "source"),
)


def _check_text(flag: str, field: str, value: str) -> None:
    """A free-text option as the case page's form field takes it (its length, no control
    character, no long number): the command stored a 12-digit number in the resident's label,
    which the page refuses as a possible individual number, and a label past the column's
    length was PostgreSQL's "value too long" traceback."""
    with translation.override("en"):
        try:
            LegacyLinkForm.base_fields[field].clean(value)
        except ValidationError as exc:
            raise CommandError(f"{flag}: {' '.join(exc.messages)} Nothing was attached.") from None


# The number each programme's legacy link asks for on standard input.
_NUMBER_PROMPT = {
    "points": "Payment card number",
    "public_fund": "Bank account number",
    "health_insurance": "Insured person's number",
}


class Command(PlainErrors, BaseCommand):
    help = "Cases: legacy-link (record a link made before signed completion and attach it)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        link = sub.add_parser("legacy-link", help="record a legacy link and attach it to a case")
        link.add_argument("case", help="CASE-00001 or 1")
        link.add_argument("--actor", required=True, help="the city official's user name")
        link.add_argument("--resident", required=True, help="as named in the report, e.g. A氏")
        link.add_argument("--provider", required=True, help="the payment service's name")
        link.add_argument(
            "--linked-on", type=date_argument, help="YYYY-MM-DD (the 1st for month only)"
        )
        link.add_argument(
            "--precision", choices=DatePrecision.values, default=DatePrecision.UNKNOWN.value
        )
        link.add_argument("--desk", default="", help="the desk (default: the case's)")
        link.add_argument(
            "--session-log",
            help="file with the old terminal's records, one per line: time, event, resident",
        )
        link.add_argument("--source", default="", help="where the records come from")
        # The other parts of the number, by the case's programme (hashed with it, as the
        # registration hashed them): a public-fund case's bank account, an insurance case's
        # insurance details. The number itself is read from standard input.
        for part, what in (
            ("bank_code", "public-fund case: the bank code"),
            ("branch_code", "public-fund case: the branch code"),
            ("account_type", "public-fund case: the account type (ordinary, current, savings)"),
            ("insurer_number", "health-insurance case: the insurer number"),
            ("insured_symbol", "health-insurance case: the insured person's symbol"),
            ("branch", "health-insurance case: the branch number"),
        ):
            link.add_argument("--" + part.replace("_", "-"), dest=part, default="", help=what)

    def handle(self, *args: object, **opts: object) -> None:
        case = _case(str(opts["case"]))
        actor = User.objects.filter(username=opts["actor"]).first()
        if actor is None:
            raise CommandError(f"No user {opts['actor']!r}.")
        if not selectors.visible_cases(actor).filter(pk=case.pk).exists():
            # As the case page answers them (404): another city's case is not theirs to work.
            raise CommandError(
                f"{actor.username} cannot open {case.reference}: an official works only the "
                "cases of their own city. Nothing was attached."
            )
        try:
            # A case with a link already, or closed, is refused before anything about the
            # number or the session records is asked or read (the case page's order).
            legacy.refuse_unattachable(case)
        except services.CaseRefused as exc:
            raise CommandError(exc.message_en) from exc
        for flag, key, field in _TEXT_OPTIONS:
            _check_text(flag, field, str(opts[key]))
        log_text = ""
        if opts["session_log"]:  # before the card number is asked for
            log_text = read_text_file(
                str(opts["session_log"]), limit=SESSION_LOG_LIMIT, what="session log file"
            )
            _check_text("--session-log", "session_log", log_text)
        # The card number is read from standard input, never from the command line (it would
        # stay in the shell history and the process list).
        if sys.stdin.isatty():
            self.stderr.write(
                f"{_NUMBER_PROMPT[str(case.programme)]} (kept only as a keyed hash + last 4): "
            )
        number = sys.stdin.readline().strip()
        try:
            link = legacy.attach(
                case,
                actor=actor,
                resident_label=str(opts["resident"]),
                provider_name=str(opts["provider"]),
                account_number=number,
                parts={k: str(opts[k]) for k in remedy.IDENTIFIER_PARTS[str(case.programme)]},
                linked_on=opts["linked_on"],
                linked_on_precision=str(opts["precision"]),
                desk_location=str(opts["desk"]),
                session_log=legacy.parse_session_log(log_text),
                source=str(opts["source"]),
            )
        except services.CaseRefused as exc:
            raise CommandError(exc.message_en) from exc
        self.stdout.write(f"{case.reference}: legacy link {link} attached.")
