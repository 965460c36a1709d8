"""Django's migrate, which from a shell unapplies nothing on a database whose audit log holds
events unless told to, and records what it unapplied.

`madoguchi migrate audit zero` dropped the audit log's tables, every event and the signed
checkpoints' table with them, in two seconds and without a question; `madoguchi migrate benefits
zero` dropped every link, account and the ledger the same way. Unapplying a migration undoes
what it made: the tables and columns it created go, with the records in them. From a shell, on
a database whose audit log holds events, a plan that unapplies anything is refused, naming what
it would unapply, unless `--unapply` is given (a release rolled back on purpose), after which
the audit log records it: first what it is about to unapply (`audit.migrations_unapplying`,
which migrations and the OS user, committed before anything is dropped, so that a Ctrl-C or a
kill -9 mid-way cannot leave the drop unrecorded), then what it did unapply
(`audit.migrations_unapplied`, also after an interruption it outlives). A plan that unapplies
the audit log's own migrations needs `--erase-audit-log`, as `flush` does, and can record
nothing (the log is gone; the checkpoints outside the database show it).

Applying migrations (`madoguchi migrate`, `migrate APP`), `--plan`, `--check` and `--fake`
(which changes only Django's record of what is applied) are not asked; nor is code
(`call_command`, the tests' own databases).

Two `madoguchi migrate` at once on one database (two deploy scripts, an operator and a
service's start) take turns: the second waits for the first and then finds less or nothing to
do. The loser of the race ended in an IntegrityError traceback (PostgreSQL) or "table already
exists" (SQLite).
"""

from __future__ import annotations

import fcntl
import getpass
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import DatabaseError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations import Migration
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from madoguchi.audit import events
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.cli import Interrupted, PlainErrors, counted, database_folder

# Listed in a refusal by name up to this many; beyond, by app and count.
NAMED = 6


class Command(PlainErrors, DjangoMigrateCommand):
    help = (
        DjangoMigrateCommand.help
        + " From a shell, on a database whose audit log holds events, unapplying a migration "
        "needs --unapply (and is recorded in the audit log); unapplying the audit log's own, "
        "--erase-audit-log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--unapply",
            action="store_true",
            help="Needed from a shell to unapply migrations on a database whose audit log holds "
            "events: what they made (tables, columns) is dropped with its records. Recorded in "
            "the audit log.",
        )
        parser.add_argument(
            "--erase-audit-log",
            action="store_true",
            help="Needed from a shell to unapply the audit log's own migrations on a database "
            "whose log holds events: its tables are dropped with every event (a development or "
            "demo database only, never a deployment's).",
        )

    def get_check_kwargs(self, options: dict[str, Any]) -> Any:
        # The system checks, before `handle`, open the database (a JSON field's asks SQLite
        # what it supports): its folder is made first.
        self._make_data_folder(options)
        return super().get_check_kwargs(options)

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        if options["plan"] or options["check_unapplied"]:
            super().handle(*args, **options)  # reads only: no turn to wait for
            return
        self._make_data_folder(options)  # --skip-checks
        with _one_migrate_at_a_time(connections[database], self.stderr):
            self._migrate(*args, **options)

    def _make_data_folder(self, options: dict[str, Any]) -> None:
        """The data folder (MADOGUCHI_DATA_DIR, `./var` by default) made for the default SQLite
        database when it is not there yet: the first `madoguchi migrate` in a fresh folder
        ended in "unable to open database file (check that the database in DATABASE_URL is
        running and reachable)" (with DEBUG=1 it worked: the development key made the folder
        first). Only its last part is made, and only for the default database: a folder a
        DATABASE_URL names (a typing mistake, a volume not mounted) is the operator's to make,
        and the `madoguchi` script's line names it."""
        if options["plan"] or options["check_unapplied"]:
            return  # reads only: the `madoguchi` script's line says what to do
        missing = database_folder(options["database"])
        if missing is None or not missing[1] or missing[0].exists():
            return
        folder = missing[0]
        try:
            folder.mkdir()
        except FileNotFoundError:
            raise CommandError(
                f"The data folder {folder} (MADOGUCHI_DATA_DIR) cannot be made: {folder.parent} "
                "does not exist. Create it, or set MADOGUCHI_DATA_DIR to a folder. Nothing was "
                "migrated."
            ) from None
        except OSError as exc:
            raise CommandError(
                f"The data folder {folder} (MADOGUCHI_DATA_DIR) cannot be made: "
                f"{exc.strerror or exc}. Nothing was migrated."
            ) from None
        if options["verbosity"]:
            self.stdout.write(
                f"Made the data folder {folder} (MADOGUCHI_DATA_DIR) for the database."
            )

    def _migrate(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        unapplying: list[str] = []
        if (
            getattr(self, "_called_from_command_line", False)
            and options["app_label"]
            and options["migration_name"]
            and not options["fake"]
        ):
            unapplying = self._unapplied_if_told(options)
        if unapplying:
            # Recorded and committed before the first table is dropped: the record of an
            # unapply was written only after it, and Ctrl-C or kill -9 mid-way left none.
            _record(events.AUDIT_MIGRATIONS_UNAPPLYING, unapplying, database)
        failed = True
        try:
            super().handle(*args, **options)
            failed = False
        except KeyboardInterrupt:
            done = "unapplied" if unapplying else "applied"
            raise Interrupted(
                f"the migrations {done} before it stay {done}; `madoguchi migrate --plan` shows "
                "what is left"
                + ("; the audit log records which were unapplied" if unapplying else "")
            ) from None
        finally:
            if unapplying:
                _record_unapplied(unapplying, database, failed=failed)

    def _unapplied_if_told(self, options: dict[str, Any]) -> list[str]:
        """The migrations the plan unapplies, to record once done; a `CommandError` saying what
        they are if the audit log holds events and the option that allows it is missing.
        Nothing to record when the plan unapplies the audit log itself (it goes with it) or
        when Django will refuse the arguments itself (an unknown app or migration)."""
        connection = connections[options["database"]]
        held = _events_held(connection)
        if not held:
            return []
        executor = MigrationExecutor(connection)
        app_label, name = options["app_label"], options["migration_name"]
        target: tuple[str, str | None]
        if name == "zero":
            target = (app_label, None)
        else:
            try:
                target = (app_label, executor.loader.get_migration_by_prefix(app_label, name).name)
            except (AmbiguityError, KeyError):
                return []  # Django's handle says so, in its words
        plan = [migration for migration, back in executor.migration_plan([target]) if back]
        backwards = [f"{migration.app_label}.{migration.name}" for migration in plan]
        if not backwards:
            return []
        events_held = counted(held, "event")
        what = _listed(backwards)
        # An audit migration that keeps the log's rows and its append as they are (a CHECK
        # constraint) is unapplied as any app's is; every other one (the table, the append-only
        # triggers, the append function, which the record of the unapply itself needs) only
        # with --erase-audit-log.
        if any(_keeps_the_log_short(migration) for migration in plan):
            if not options["erase_audit_log"]:
                raise CommandError(
                    f"migrate would unapply {what}, among them the audit log's own: its tables "
                    f"would be dropped with its {events_held}, and the signed checkpoints "
                    "outside the database would then show the events missing. Nothing was "
                    "changed. `madoguchi migrate APP NAME --plan` shows each step. To do it to a "
                    "development or demo database on purpose, give --erase-audit-log (and "
                    "delete its checkpoint directory); never on a deployment."
                )
            return []
        if not options["unapply"]:
            raise CommandError(
                f"migrate would unapply {what}, on a database whose audit log holds "
                f"{events_held}: unapplying drops what each made (tables, columns) with the "
                "records in them. Nothing was changed. `madoguchi migrate APP NAME --plan` "
                "shows each step. To roll back on purpose, give --unapply; the audit log "
                "records what was unapplied and by which OS user."
            )
        return backwards


UNAPPLIED_AS_ANY_APP = frozenset({"0008_payload_rules", "0009_time_order_kept_at_append"})
"""The audit app's migrations whose unapply leaves the log's rows, its append-only triggers and
a working append function (0008: a CHECK constraint on payloads, nothing on SQLite; 0009: two
constraints and the previous event's seq and time beside each event, which are not in its
canonical bytes, with the append function put back as 0007 installed it)."""


def _keeps_the_log_short(migration: Migration) -> bool:
    """Whether unapplying `migration` takes the log, or what keeps and appends it, away: any
    audit migration but `UNAPPLIED_AS_ANY_APP`."""
    return migration.app_label == "audit" and migration.name not in UNAPPLIED_AS_ANY_APP


def _record(event: events.EventType, migrations: list[str], database: str) -> None:
    with transaction.atomic(using=database):
        audit.record(
            event,
            payload={
                "count": len(migrations),
                "migrations": migrations,
                "os_user": getpass.getuser(),
            },
        )


def _record_unapplied(planned: list[str], database: str, *, failed: bool) -> None:
    """Record the migrations of `planned` that are no longer applied (all of them, or those
    done before an interruption or a failure). A failure to record is raised unless the
    migrate itself `failed` (its exception then stays the one reported; the intent recorded
    before names the plan)."""
    connection = connections[database]
    try:
        if failed and not connection.in_atomic_block:
            connection.close()  # a failed statement may have left the connection unusable
        applied = MigrationRecorder(connection).applied_migrations()
        done = [label for label in planned if tuple(label.split(".", 1)) not in applied]
        if done:
            _record(events.AUDIT_MIGRATIONS_UNAPPLIED, done, database)
    except DatabaseError:
        if not failed:
            raise


# pg_advisory_lock's key for `madoguchi migrate` (per database): "madomigr" in ASCII.
MIGRATE_LOCK_KEY = 0x6D61646F6D696772
_WAITING = (
    "Another `madoguchi migrate` is running on this database: waiting for it to finish, then "
    "doing what is left."
)


@contextmanager
def _one_migrate_at_a_time(connection: BaseDatabaseWrapper, err: Any) -> Iterator[None]:
    """Hold the database's migrate turn: a PostgreSQL advisory lock (session-level, let go
    at the end or with the connection), on SQLite an flock on the database file (beside
    SQLite's own locks, which it does not touch). Says so when another migrate holds it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
            if not cursor.fetchone()[0]:
                err.write(_WAITING)
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK_KEY])
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK_KEY])
            except DatabaseError:
                pass  # the connection is gone, and its lock with it
        return
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or not name or name.startswith(":memory:"):
        yield
        return
    connection.ensure_connection()  # SQLite creates the file
    if not Path(name).is_file():  # an in-memory database ("file:…?mode=memory")
        yield
        return
    with Path(name).open("rb") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            err.write(_WAITING)
            fcntl.flock(held, fcntl.LOCK_EX)
        yield  # the lock goes with the file's closing


def _events_held(connection: BaseDatabaseWrapper) -> int:
    """The audit log's events in this database; 0 when its table is not there (yet or any more)."""
    if AuditEvent._meta.db_table not in connection.introspection.table_names():
        return 0
    return AuditEvent.objects.using(connection.alias).count()


def _listed(labels: list[str]) -> str:
    """`1 migration (benefits.0010_…)`, or by app and count when there are many."""
    if len(labels) <= NAMED:
        return f"{counted(len(labels), 'migration')} ({', '.join(labels)})"
    by_app = Counter(label.split(".", 1)[0] for label in labels)
    apps = ", ".join(f"{app}: {n}" for app, n in by_app.items())
    return f"{counted(len(labels), 'migration')} ({apps})"
