"""`madoguchi case legacy-link CASE-00001 …`: record a link made before signed completion (from
the old system's records) and attach it to a case; the same as the case page's form.

`madoguchi case regrant CASE-00001 --actor official [--confirm]`: grant the points returned from
a point case's wrong link again to the resident's own new link, the case page's step of the same
name. Without `--confirm` it says what it would grant and to which link, and grants nothing."""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from madoguchi.accounts.models import User
from madoguchi.cases import legacy, remedy, selectors, services
from madoguchi.cases.constants import DatePrecision
from madoguchi.cases.forms import LegacyLinkForm, RegrantForm
from madoguchi.cases.models import Case
from madoguchi.cli import PlainErrors, read_text_file
from madoguchi.era import date_argument
from madoguchi.refusals import Refusal


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
    help = (
        "Cases: legacy-link (record a link made before signed completion and attach it); "
        "regrant (grant a point case's returned points again to the resident's own new link)."
    )

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

        regrant = sub.add_parser(
            "regrant",
            help="grant a point case's returned points again to the resident's own new link",
        )
        regrant.add_argument("case", help="CASE-00001 or 1")
        regrant.add_argument("--actor", required=True, help="the city official's user name")
        regrant.add_argument(
            "--on", default="", help="the day it was done, YYYY-MM-DD or 令和8年12月1日 (today)"
        )
        regrant.add_argument(
            "--precision", choices=DatePrecision.values, default=DatePrecision.DAY.value
        )
        regrant.add_argument(
            "--summary", default="", help="a note added under the system's sentence"
        )
        regrant.add_argument(
            "--confirm",
            action="store_true",
            help="you checked with the resident that the link shown is their own: grant",
        )

    def handle(self, *args: object, **opts: object) -> None:
        case = _case(str(opts["case"]))
        actor = User.objects.filter(username=opts["actor"]).first()
        if actor is None:
            raise CommandError(f"No user {opts['actor']!r}.")
        nothing = (
            "Nothing was re-granted." if opts["action"] == "regrant" else "Nothing was attached."
        )
        if not selectors.visible_cases(actor).filter(pk=case.pk).exists():
            # As the case page answers them (404): another city's case is not theirs to work.
            raise CommandError(
                f"{actor.username} cannot open {case.reference}: an official works only the "
                f"cases of their own city. {nothing}"
            )
        if opts["action"] == "regrant":
            self._regrant(case, actor, opts)
            return
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

    def _regrant(self, case: Case, actor: User, opts: dict[str, object]) -> None:
        """The case page's re-grant step: what it grants, to which of the resident's links;
        granted only with `--confirm` (the page's tick box)."""
        summary = str(opts["summary"])
        with translation.override("en"):
            try:
                # As the page's form takes the note (its length, no control character, no long
                # number) and the day (not after today, not before 明治6年).
                RegrantForm.base_fields["summary"].clean(summary)
                day = RegrantForm.base_fields["event_date"].clean(
                    str(opts["on"]) or timezone.localdate().isoformat()
                )
            except ValidationError as exc:
                raise CommandError(f"{' '.join(exc.messages)} Nothing was re-granted.") from None
        try:
            state = services.regrant_ready(case)
        except services.CaseRefused as exc:
            raise CommandError(f"{exc.message_en} Nothing was re-granted.") from exc
        words = services.link_words(state.target).en
        if not opts["confirm"]:
            self.stdout.write(
                f"{case.reference}: the {state.points} points returned from the wrong link "
                f"would be granted again to the resident's own payment service, {words}. "
                "Nothing was re-granted: check with the resident that this payment service is "
                "theirs, then run the command again with --confirm."
            )
            return
        try:
            entry = services.case_regrant(
                case,
                actor=actor,
                summary=summary,
                event_date=day,
                date_precision=str(opts["precision"]),
            )
        except Refusal as exc:  # the case's, or benefits' (a link no longer effective)
            raise CommandError(f"{exc.message_en} Nothing was re-granted.") from exc
        self.stdout.write(
            f"{case.reference}: {entry.detail['points']} points granted again to {words} "
            f"(timeline entry {entry.seq})."
        )
