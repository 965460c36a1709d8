"""Django's flush, able to empty the append-only audit tables.

Tests that use real transactions (pytest ``django_db(transaction=True)``) end with a flush; the
audit tables' triggers would refuse it. This command lifts them for the flush only and puts them
back afterwards. It still needs the tables' owner rights: the application's role cannot use it
to rewrite history, and the off-database checkpoints would expose it if the owner did.
"""

from typing import Any

from django.core.management.commands.flush import Command as DjangoFlushCommand
from django.db import connections

from madoguchi.audit import triggers
from madoguchi.cli import PlainErrors


class Command(PlainErrors, DjangoFlushCommand):
    help = (
        DjangoFlushCommand.help
        + " The audit log's append-only triggers are lifted for the flush and restored after it."
    )

    def handle(self, **options: Any) -> None:
        with triggers.suspended(connections[options["database"]]):
            super().handle(**options)
