"""Management commands of Django and its libraries that change accounts with no audit event,
refused at the shell with the audited command to use instead; called from code
(`call_command`) they run as their library wrote them.

Each refused command is a module of `commands/` that names its library's command and the
sentence (`refused_at_the_shell`); this app comes before those libraries in INSTALLED_APPS, so
`madoguchi NAME` finds ours.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from madoguchi.cli import PlainErrors

AXES_REFUSAL = (
    "madoguchi lifts no sign-in lockout this way: it would leave no audit event. Nothing was "
    "changed. An operator lifts a member's lockout, audited: madoguchi staff unlock NAME --by "
    "OPERATOR (or sets a new password: madoguchi staff password NAME --by OPERATOR, which lifts "
    "it too)."
)


def refused_at_the_shell(library_command: type[BaseCommand], refusal: str) -> type[BaseCommand]:
    """`library_command` with the same arguments, refused with `refusal` when run from the
    command line (before it reads its input or asks anything)."""

    class Command(PlainErrors, library_command):  # type: ignore[valid-type,misc]
        help = f"Refused from the shell. {refusal}"

        def handle(self, *args: Any, **options: Any) -> Any:
            if getattr(self, "_called_from_command_line", False):
                raise CommandError(refusal)
            return super().handle(*args, **options)

    return Command
