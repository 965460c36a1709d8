"""Django's migrate, which from a shell unapplies nothing on a database whose audit log holds
events unless told to, and records what it unapplied.

`madoguchi migrate audit zero` dropped the audit log's tables, every event and the signed
checkpoints' table with them, in two seconds and without a question; `madoguchi migrate benefits
zero` dropped every link, account and the ledger the same way. Unapplying a migration undoes
what it made: the tables and columns it created go, with the records in them. From a shell, on
a database whose audit log holds events, a plan that unapplies anything is refused, naming what
it would unapply, unless `--unapply` is given (a release rolled back on purpose), after which
the audit log records it (`audit.migrations_unapplied`: which migrations, the OS user); a plan
that unapplies the audit log's own migrations needs `--erase-audit-log`, as `flush` does, and
can record nothing (the log is gone; the checkpoints outside the database show it).

Applying migrations (`madoguchi migrate`, `migrate APP`), `--plan`, `--check` and `--fake`
(which changes only Django's record of what is applied) are not asked; nor is code
(`call_command`, the tests' own databases).
"""

from __future__ import annotations

import getpass
from collections import Counter
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.exceptions import AmbiguityError
from django.db.migrations.executor import MigrationExecutor

from madoguchi.audit import events
from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.cli import PlainErrors, counted

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

    def handle(self, *args: Any, **options: Any) -> None:
        unapplied: list[str] = []
        if (
            getattr(self, "_called_from_command_line", False)
            and options["app_label"]
            and options["migration_name"]
            and not (options["plan"] or options["check_unapplied"] or options["fake"])
        ):
            unapplied = self._unapplied_if_told(options)
        super().handle(*args, **options)
        if unapplied:
            database = options["database"]
            with transaction.atomic(using=database):
                audit.record(
                    events.AUDIT_MIGRATIONS_UNAPPLIED,
                    payload={
                        "count": len(unapplied),
                        "migrations": unapplied,
                        "os_user": getpass.getuser(),
                    },
                )

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
        backwards = [
            f"{migration.app_label}.{migration.name}"
            for migration, back in executor.migration_plan([target])
            if back
        ]
        if not backwards:
            return []
        events_held = counted(held, "event")
        what = _listed(backwards)
        if any(label.startswith("audit.") for label in backwards):
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
