"""A command whose reader went away (`… | head -3`) stops quietly, as other commands do.

Python ignores SIGPIPE, so writing to a closed pipe raises BrokenPipeError and the command
ended in a traceback after the lines that were read. Pure: the Django-free entry points
(`python -m madoguchi.outside.sim`) use it as `madoguchi` does.
"""

import os
import sys
from typing import NoReturn

__all__ = ["reader_gone"]


def reader_gone() -> NoReturn:
    """Exit with 141, what a shell reports for a command SIGPIPE ended; stdout goes to
    /dev/null first so the interpreter's last flush does not fail too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    raise SystemExit(141)
