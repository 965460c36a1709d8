"""Django's `dumpdata`, refused from the shell: it wrote out every resident's records and every
member's secrets with no read recorded.

`madoguchi dumpdata` printed every visit (the card holder's name as the card gives it), link
(the account holder's reading, the account's last 4), case and report, and the staff's password
hashes and authenticator secrets, to standard output or a file, where the officials' pages, the
admin and `scan export` each record who read what and why. Called from code (`call_command`)
it is Django's command unchanged.
"""

from django.core.management.commands.dumpdata import Command as DjangoDumpData

from madoguchi.cli import refused_at_the_shell

REFUSAL = (
    "madoguchi writes out no records with dumpdata: it would read every resident's records "
    "(visits, links, cases, reports) and the staff's password hashes and authenticator "
    "secrets with no read recorded. Nothing was written. Back up the database with "
    "PostgreSQL's own tools (pg_dump, as the database's owner; keep the copy as the records "
    "themselves are kept); the forensic scan's tables come from madoguchi scan export DIR, "
    "audited."
)

Command = refused_at_the_shell(DjangoDumpData, REFUSAL)
