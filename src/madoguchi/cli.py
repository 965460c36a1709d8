"""What the `madoguchi` commands share: a refusal printed as the sentence it is.

Django prints a ``CommandError`` as ``CommandError: <message>``, the exception's class name in
front of the sentence a person reads. A command mixing in :class:`PlainErrors` prints the
sentence alone (on stderr, with the same exit status); called from code (``call_command``)
it still raises, so tests and callers see the exception.
"""

from __future__ import annotations

import os
import shlex
import stat
import sys
import unicodedata
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.argtypes import seconds

__all__ = [
    "NOT_MIGRATED",
    "Backoff",
    "Interrupted",
    "PlainErrors",
    "counted",
    "database_folder",
    "database_folder_words",
    "database_words",
    "field_rules",
    "migrations_pending",
    "name_alike",
    "name_key",
    "named_alike",
    "not_migrated",
    "read_text_file",
    "refused_at_the_shell",
    "regular_file",
    "seconds",
]


def field_rules(model: Any, name: str, value: str) -> None:
    """Run a model field's own validators (its length, its characters) on a value a command was
    given, as the admin's form does: raises Django's ``ValidationError``. A command that creates
    rows without a form passed values the database then refused with a traceback."""
    model._meta.get_field(name).run_validators(value)


def name_key(name: str) -> str:
    """A name as a reader tells it from another: NFKC (full-width and half-width letters,
    digits and kana are one) and then case-folded, NFKC again. The commands compare names
    by it in Python rather than by the database's ``iexact``, which SQLite reads as ``LIKE``
    (ASCII capitals only): 'ＫＩＴＡ City' beside 'ｋｉｔａ city' was added there and refused on
    PostgreSQL (side doors round 22, probe R2)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def named_alike(queryset: Any, field: str, name: str) -> Any:
    """The row of ``queryset`` whose ``field`` reads as ``name`` (:func:`name_key`), the one
    of that very name first; None if none. The tables it is used on (organisations,
    terminals, staff) are small enough to read their names."""
    exact = queryset.filter(**{field: name}).first()
    if exact is not None:
        return exact
    key = name_key(name)
    for pk, value in queryset.values_list("pk", field).order_by("pk").iterator():
        if name_key(value) == key:
            return queryset.get(pk=pk)
    return None


def name_alike(existing: str, given: str) -> str:
    """The words after "already exists" when the name taken is not the one typed."""
    if existing == given:
        return ""
    if unicodedata.normalize("NFKC", existing) == unicodedata.normalize("NFKC", given):
        return " (full-width and half-width characters are one name)"
    if existing.casefold() == given.casefold():
        return " (names differing only in capitals are one name)"
    return " (names differing only in capitals or in width are one name)"


def database_words(exc: BaseException) -> str:
    """A database error's first line, for an operator's one line (the driver's own words run
    to several: the host tried, then "Is the server running …")."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def database_folder(using: str = "default") -> tuple[Path, bool] | None:
    """The folder of a SQLite database file when it is not a folder (not there yet, or a
    file), and whether that file is madoguchi's default (`madoguchi.sqlite3` in
    MADOGUCHI_DATA_DIR, DATABASE_URL unset); None for PostgreSQL or a folder that is there.
    SQLite cannot make a file in a folder that is not there, and said only "unable to open
    database file", which the operator's one line sent to a database server to check."""
    from django.conf import settings
    from django.db import connections

    database = connections[using].settings_dict
    name = str(database.get("NAME") or "")
    if connections[using].vendor != "sqlite" or not os.path.isabs(name):
        return None
    folder = Path(name).parent
    if folder.is_dir():
        return None
    default = Path(name) == Path(settings.DATA_DIR).absolute() / "madoguchi.sqlite3"
    return folder, default


def database_folder_words(folder: Path, default: bool) -> str:
    """What to do about a SQLite database's folder that is not a folder, in one line."""
    if default and folder.exists():
        return (
            f"the database is madoguchi.sqlite3 in MADOGUCHI_DATA_DIR (DATABASE_URL is unset), "
            f"and {folder} is not a folder: set MADOGUCHI_DATA_DIR to a folder"
        )
    if default:
        return (
            f"the database is madoguchi.sqlite3 in MADOGUCHI_DATA_DIR (DATABASE_URL is unset), "
            f"and the folder {folder} does not exist yet: `madoguchi migrate` makes it and the "
            "database"
        )
    if folder.exists():
        return (
            f"DATABASE_URL names a SQLite file in {folder}, which is not a folder: correct "
            "DATABASE_URL"
        )
    return (
        f"DATABASE_URL names a SQLite file in the folder {folder}, which does not exist: create "
        f"it (mkdir -p {shlex.quote(str(folder))}), or correct DATABASE_URL"
    )


# What a command on a database without madoguchi's tables (or without a release's newer ones)
# says, in one line: it was a ProgrammingError traceback on PostgreSQL, and on SQLite a line
# sending the operator to check that the database server runs.
NOT_MIGRATED = (
    "the database is not migrated: run `madoguchi migrate` (it creates madoguchi's tables, or "
    "adds what this release needs)"
)


def migrations_pending(using: str = "default") -> bool | None:
    """Whether the database lacks migrations this code has (never migrated, or migrated by an
    earlier release); None when it cannot be read. On the connection as it is: a caller after
    a failed query closes it first (a PostgreSQL transaction that failed answers nothing)."""
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[using])
        return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return None


# SQLite's words for a table or column that is not there (PostgreSQL's are ProgrammingErrors).
_SQLITE_MISSING = ("no such table", "no such column", "has no column named")


def not_migrated(exc: BaseException, using: str = "default") -> bool:
    """Whether `exc`, a database error, is a table or column missing from a database whose
    migrations are not all applied (asked of the database again, on a new connection). A
    missing table on a database migrated to the end is not this: it stays the error it is."""
    from django.db import OperationalError, ProgrammingError, connections

    missing = isinstance(exc, ProgrammingError) or (
        isinstance(exc, OperationalError) and any(w in str(exc) for w in _SQLITE_MISSING)
    )
    if not missing:
        return False
    connections[using].close()
    return migrations_pending(using) is True


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what it left as it stands ("nothing was changed"): the `madoguchi`
    script prints it in one line (`madoguchi: interrupted: …`) and exits 130, no traceback."""


class Backoff:
    """The waits of a long-running loop after failures: `first` seconds after the first, twice
    the last after each further one, at most `most`; `succeeded` starts again from `first`. A
    database that does not answer is then told about once a minute, not every second."""

    def __init__(self, first: float, most: float = 60.0) -> None:
        self.first = first
        self.most = max(most, first)
        self.next = first

    def failed(self) -> float:
        """The wait after this failure (the next one's will be longer)."""
        wait = self.next
        self.next = min(max(self.next * 2, 1.0), self.most)
        return wait

    def succeeded(self) -> None:
        self.next = self.first


def counted(n: int, thing: str) -> str:
    """The count and its noun for an operator's line: 1 procedure, 2 procedures."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


class OperatorRefusal(Exception):
    """A refusal raised below the commands whose message is for the person at the shell as it
    stands (the audit log refusing what a command would record): a command prints it in one
    line, as a ``CommandError``, rather than as a traceback."""


class PlainErrors:
    """Mix in before ``BaseCommand``: ``class Command(PlainErrors, BaseCommand)``."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)  # type: ignore[misc]
        except (CommandError, OperatorRefusal) as exc:
            from_command_line = getattr(self, "_called_from_command_line", False)
            if not from_command_line or options.get("traceback"):
                raise
            if isinstance(exc, OperatorRefusal):
                self.stderr.write(f"Refused: {exc} Nothing was changed.")  # type: ignore[attr-defined]
                sys.exit(1)
            self.stderr.write(str(exc))  # type: ignore[attr-defined]
            sys.exit(exc.returncode)


def refused_at_the_shell(library_command: type[BaseCommand], refusal: str) -> type[BaseCommand]:
    """`library_command` (Django's or a library's) with the same arguments, refused with
    `refusal` when run from the command line, before it reads its input or asks anything; called
    from code (`call_command`) it runs as its library wrote it. The refused command is a module
    of an app's `commands/` (an app's command takes the place of Django's own of that name; for
    another app's, this app must come first in INSTALLED_APPS)."""

    class Command(PlainErrors, library_command):  # type: ignore[valid-type,misc]
        help = f"Refused from the shell. {refusal}"

        def handle(self, *args: Any, **options: Any) -> Any:
            if getattr(self, "_called_from_command_line", False):
                raise CommandError(refusal)
            return super().handle(*args, **options)

    return Command


def regular_file(path: str | Path, what: str = "file") -> Path:
    """`path` if it is a regular file that can be read; otherwise a `CommandError` saying why
    (missing, a directory, a device or pipe such as /dev/zero, which would be read forever).
    A symbolic link is followed: it is the file it points to that must be regular."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise CommandError(f"Cannot read {p}: no such {what}.") from None
    except OSError as exc:
        raise CommandError(f"Cannot read {p}: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(mode):
        raise CommandError(f"Cannot read {p}: it is a directory; give a {what}.")
    if not stat.S_ISREG(mode):
        raise CommandError(
            f"Cannot read {p}: not a regular file (a device or a pipe); give a {what}."
        )
    return p


def read_file(path: str | Path, *, limit: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes, or a `CommandError` saying why
    not (as `regular_file`; too large)."""
    p = regular_file(path, what)
    try:
        with p.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read {p}: {exc.strerror or exc}.") from exc
    if len(data) > limit:
        raise CommandError(f"{p} is larger than {limit:,} bytes; give the {what} it should be.")
    return data


def read_text_file(path: str | Path, *, limit: int, what: str = "file") -> str:
    """The whole UTF-8 text of a regular file of at most `limit` bytes, or a `CommandError`
    saying why not (as `read_file`; not UTF-8, with the byte's position)."""
    p = Path(path)
    data = read_file(p, limit=limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"{p} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8."
        ) from exc
