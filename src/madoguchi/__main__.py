"""The `madoguchi` console script: Django management commands with the settings preset."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["madoguchi", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
