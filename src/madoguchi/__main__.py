"""The `madoguchi` console script: Django management commands with the settings preset.

Commands that need no database and no secret run with no configuration at all. A configuration
error is one line saying what to set, not a traceback.
"""

import os
import sys

# Commands for people that read no database and sign nothing lasting.
STANDALONE = frozenset({"namecheck", "vcard", "card", "sim", "agent", "bench"})


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in STANDALONE:
        os.environ.setdefault("MADOGUCHI_STANDALONE", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 (loads the settings, so errors surface here)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"madoguchi: configuration error: {exc}\n")
        raise SystemExit(2) from None
    execute_from_command_line(["madoguchi", *args])


if __name__ == "__main__":
    main()
