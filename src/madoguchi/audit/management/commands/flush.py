"""Django's flush, able to empty the append-only audit tables.

Tests that use real transactions (pytest ``django_db(transaction=True)``) end with a flush; the
audit tables' triggers would refuse it. This command lifts them for the flush only and puts them
back afterwards. It still needs the tables' owner rights: the application's role cannot use it
to rewrite history, and the off-database checkpoints would expose it if the owner did.

From a shell, on a database whose audit log holds events, it refuses unless
``--erase-audit-log`` is given: ``madoguchi flush --noinput`` (Django's question skipped) run by
someone with the owner's rights on a deployment erased every event and the ledger without a
word. The tests' flush (``call_command``) is not asked.
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections

from madoguchi.audit import triggers
from madoguchi.audit.models import AuditEvent
from madoguchi.cli import PlainErrors, counted


class Command(PlainErrors, DjangoFlushCommand):
    help = (
        DjangoFlushCommand.help
        + " The audit log's append-only triggers are lifted for the flush and restored after it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--erase-audit-log",
            action="store_true",
            help="Needed from a shell when the audit log holds events: flush erases them and "
            "the ledger (a development or demo database only, never a deployment's).",
        )

    def handle(self, **options: Any) -> None:
        database = options["database"]
        if getattr(self, "_called_from_command_line", False) and not options["erase_audit_log"]:
            held = AuditEvent.objects.using(database).count()
            if held:
                raise CommandError(
                    f"The audit log holds {counted(held, 'event')}: flush would erase them, the ledger and "
                    "every record, and the signed checkpoints outside the database would then "
                    "show the events missing. Nothing was changed. To empty a development or "
                    "demo database on purpose, give --erase-audit-log (and delete its checkpoint "
                    "directory); never on a deployment."
                )
        with triggers.suspended(connections[options["database"]]):
            super().handle(**options)
