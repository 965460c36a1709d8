"""Django's `changepassword`, refused from the shell: `madoguchi staff password` sets a
member's password, audited.

Django's command changed any member's password with no audit event (then the member's
sessions ended, with nothing saying why) and, given the password on a pipe, ended in a
traceback. Called from code (`call_command`) it is Django's command unchanged.
"""

from django.contrib.auth.management.commands.changepassword import (
    Command as DjangoChangePassword,
)

from madoguchi.cli import refused_at_the_shell

REFUSAL = (
    "madoguchi changes no password with changepassword: it would leave no audit event. "
    "Nothing was changed. An operator sets a member's password, audited: madoguchi staff "
    "password NAME --by OPERATOR (asked for twice; --password-stdin reads it from a pipe)."
)

Command = refused_at_the_shell(DjangoChangePassword, REFUSAL)
