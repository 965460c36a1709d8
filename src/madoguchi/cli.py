"""What the `madoguchi` commands share: a refusal printed as the sentence it is.

Django prints a ``CommandError`` as ``CommandError: <message>``, the exception's class name in
front of the sentence a person reads. A command mixing in :class:`PlainErrors` prints the
sentence alone (on stderr, with the same exit status); called from code (``call_command``)
it still raises, so tests and callers see the exception.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError

__all__ = ["PlainErrors"]


class PlainErrors:
    """Mix in before ``BaseCommand``: ``class Command(PlainErrors, BaseCommand)``."""

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)  # type: ignore[misc]
        except CommandError as exc:
            from_command_line = getattr(self, "_called_from_command_line", False)
            if not from_command_line or options.get("traceback"):
                raise
            self.stderr.write(str(exc))  # type: ignore[attr-defined]
            sys.exit(exc.returncode)
