"""The `madoguchi` console script: Django management commands with the settings preset.

Commands that need no database and no secret run with no configuration at all. A configuration
error is one line saying what to set, not a traceback.
"""

import os
import sys

from madoguchi.pipes import reader_gone

# Commands for people that read no database and sign nothing lasting.
STANDALONE = frozenset({"namecheck", "vcard", "card", "sim", "agent", "bench"})
# Subcommands of the same kind: the forensic scan over files (`scan run --record`,
# `open-cases` and `export` read or write the database and need the settings), and the
# auditor's check of a proof `audit prove` printed, on the auditor's own machine.
STANDALONE_SUB = {
    "scan": frozenset({"generate", "run", "evaluate"}),
    "audit": frozenset({"check-proof"}),
}


def _standalone(args: list[str]) -> bool:
    # Asking for help (`madoguchi`, `madoguchi help`, `madoguchi --help`, `madoguchi CMD -h`)
    # lists commands and options; it reads no database and signs nothing.
    options = args[: args.index("--")] if "--" in args else args
    if not args or args[0] == "help" or {"--help", "-h"} & set(options):
        return True
    if args[0] in STANDALONE:
        return True
    subs = STANDALONE_SUB.get(args[0], frozenset())
    return len(args) > 1 and args[1] in subs and "--record" not in args


def _known_without_settings(name: str) -> bool:
    """Whether `name` is a command, asked with the settings that need nothing (after the
    configured ones failed to load: the settings module is imported again)."""
    # Django only on this path: the standalone commands (agent, card, sim) run without it.
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import get_commands

    os.environ["MADOGUCHI_STANDALONE"] = "1"
    try:
        django.setup()
    except ImproperlyConfigured:
        return True  # another setting is wrong too: report the first one, as before
    return name in get_commands()


def _usage_if_malformed(args: list[str]) -> None:
    """The command's usage line and exit 2 when its arguments are incomplete or wrong (`madoguchi
    staff`, with no action), asked with the settings that need nothing, as a mistyped command
    is: "configuration error: Set SECRET_KEY" was said instead, and once it was set the usage
    line came next. Arguments that parse return (the configuration error is then the line)."""
    from django.apps import apps
    from django.core.management import BaseCommand, get_commands, load_command_class

    if not apps.ready:
        return  # the settings that need nothing failed too: the first error is reported
    app = get_commands().get(args[0])
    if app is None:
        return
    command = app if isinstance(app, BaseCommand) else load_command_class(app, args[0])
    # As `run_from_argv` sets it: argparse prints the usage and the error, and exits 2.
    command._called_from_command_line = True  # type: ignore[attr-defined]
    try:
        command.create_parser("madoguchi", args[0]).parse_args(args[1:])
    except SystemExit:
        raise
    except Exception:  # a parser that needs the settings: the configuration line
        return


def not_utf8(args: list[str]) -> str | None:
    """The line refusing an argument that is not UTF-8 text, or None. A name typed in a
    terminal set to Shift_JIS reaches Python as bytes it cannot read (kept as surrogates), and
    the first command to write or print it ended in a UnicodeEncodeError traceback.

    An argument naming a path that exists is not refused: a file's name from a Windows share
    may be Shift_JIS, and the terminal's setting cannot change it (Python opens it by its
    bytes). The refusal shows the bytes around the first that are not UTF-8 (a prefix cut at
    40 characters hid them in a long path)."""
    for place, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            if _names_a_path(arg):
                continue
            raw = arg.encode("utf-8", "surrogateescape")
            bad = len(arg[: exc.start].encode("utf-8", "surrogateescape"))
            start, end = max(0, bad - 12), min(len(raw), bad + 12)
            shown = ("…" if start else "") + repr(raw[start:end])[2:-1]
            shown += "…" if end < len(raw) else ""
            return (
                f"madoguchi: argument {place} is not UTF-8 text (its bytes: {shown}; the first "
                f"not UTF-8 is byte {bad + 1}): set the terminal to UTF-8 (LANG=ja_JP.UTF-8, "
                "say) and type it again. Nothing was run."
            )
    return None


def _names_a_path(arg: str) -> bool:
    """Whether `arg` (surrogate-escaped bytes) names a file or directory that exists, alone or
    as an option's value (`--file=NAME`)."""
    candidates = [arg]
    if arg.startswith("-") and "=" in arg:
        candidates.append(arg.split("=", 1)[1])
    try:
        return any(os.path.exists(candidate) for candidate in candidates)
    except (OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    refused = not_utf8(args)
    if refused:
        sys.stderr.write(refused + "\n")
        raise SystemExit(2)
    try:
        _main(args)
    except KeyboardInterrupt as exc:
        # Ctrl-C at a prompt or mid-way: one line saying so (and what it left, when the command
        # knows: `Interrupted`), the shell's 130, not a traceback; --traceback keeps it.
        if "--traceback" in args:
            raise
        said = str(exc)
        sys.stderr.write(
            ("\n" if sys.stderr.isatty() else "")
            + f"madoguchi: interrupted{': ' + said if said else ''}.\n"
        )
        raise SystemExit(130) from None


def _main(args: list[str]) -> None:
    if _standalone(args):
        os.environ.setdefault("MADOGUCHI_STANDALONE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    # Django only after the environment above is set: the settings read it when they load.
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError, OperationalError

    try:
        settings.INSTALLED_APPS  # noqa: B018 (loads the settings, so errors surface here)
    except ImproperlyConfigured as exc:
        if args and not args[0].startswith("-"):
            if not _known_without_settings(args[0]):
                # A mistyped command: Django's "Unknown command" (with the settings needing
                # nothing), not a setting that would not have helped.
                execute_from_command_line(["madoguchi", *args])
            _usage_if_malformed(args)
        sys.stderr.write(f"madoguchi: configuration error: {exc}\n")
        raise SystemExit(2) from None

    try:
        execute_from_command_line(["madoguchi", *args])
        sys.stdout.flush()  # a short output is still in the buffer: its write fails here
    except BrokenPipeError:
        reader_gone()  # `madoguchi audit tail -n 500 | head`: quietly, no traceback
    except DatabaseError as exc:
        if "--traceback" in args:
            raise
        from madoguchi.cli import (
            NOT_MIGRATED,
            database_folder,
            database_folder_words,
            database_words,
            not_migrated,
        )

        missing = database_folder() if isinstance(exc, OperationalError) else None
        if missing is not None:
            # SQLite's "unable to open database file" for a folder that is not there: the line
            # sent the operator to check a database server that there is none of.
            sys.stderr.write(f"madoguchi: database error: {database_folder_words(*missing)}.\n")
        elif not_migrated(exc):
            # A database made but never migrated (or left behind by a new release): a
            # ProgrammingError traceback on PostgreSQL, a line blaming the server on SQLite.
            sys.stderr.write(f"madoguchi: {NOT_MIGRATED}.\n")
        elif isinstance(exc, OperationalError):
            # No database server where DATABASE_URL points (or it refused us): one line, not a
            # traceback; --traceback keeps it.
            sys.stderr.write(
                f"madoguchi: database error: {database_words(exc)} (check that the database "
                "in DATABASE_URL is running and reachable)\n"
            )
        elif type(exc) is DatabaseError:
            # SQLite's "file is not a database": DATABASE_URL names a file that is something
            # else (or a damaged database).
            sys.stderr.write(
                f"madoguchi: database error: {database_words(exc)} (check that DATABASE_URL "
                "names madoguchi's database)\n"
            )
        else:
            raise  # another database error is a fault of the command's: its traceback
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
