"""Django's `loaddata`, refused from the shell: it wrote rows past every service with no audit
event.

`madoguchi loaddata FILE` inserted any row a fixture held, and replaced any row whose number it
named: a payment link no card signed, or the account behind a link the resident signed changed
after the signature, a case closed, a member made superuser, each with no audit event. Called
from code (`call_command`) it is Django's command unchanged.
"""

from django.core.management.commands.loaddata import Command as DjangoLoadData

from madoguchi.cli import refused_at_the_shell

REFUSAL = (
    "madoguchi loads no records with loaddata: its rows would pass no service and leave no "
    "audit event (a link no card signed, the account behind a signed link replaced, an account "
    "given rights). Nothing was loaded. Records are made at the desk, on the officials' pages, "
    "in the admin and by the madoguchi commands, each audited; a database is restored from its "
    "backup with PostgreSQL's own tools (pg_restore, as the database's owner)."
)

Command = refused_at_the_shell(DjangoLoadData, REFUSAL)
