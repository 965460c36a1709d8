"""Django's `createsuperuser`, refused from the shell: madoguchi's accounts are made by
`madoguchi staff`, audited.

Django's command made a superuser that belonged to no organisation, had no role and left no
audit event: the one account that may do everything, made without a trace, by the command a
Django operator reaches for first. Called from code (`call_command`, Django's own tests) it is
Django's command unchanged.
"""

from django.contrib.auth.management.commands.createsuperuser import (
    Command as DjangoCreateSuperuser,
)

from madoguchi.cli import refused_at_the_shell

REFUSAL = (
    "madoguchi makes no account with createsuperuser: it would belong to no organisation, "
    "hold no role and leave no audit event. Nothing was created. Add an operator instead, "
    "each step audited: madoguchi staff add NAME --role operator --organisation ORG (the "
    "password is asked for), madoguchi staff totp NAME (the admin's second factor), "
    "madoguchi staff flag NAME staff on --by NAME (admin access); a superuser only if one "
    "must be: madoguchi staff flag NAME superuser on --by OPERATOR. (README, Setting up a city.)"
)

Command = refused_at_the_shell(DjangoCreateSuperuser, REFUSAL)
