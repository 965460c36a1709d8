"""Reading the small files the audit log keeps outside the database: signed checkpoints (read
by `verify`, and by `audit checkpoint` before it signs) and the signing key.

Anyone who can write in the checkpoint folder can put there a FIFO, a symbolic link to
/dev/zero or a file of gigabytes under a checkpoint's name; a plain read of it never ends
(the hourly checkpoint then never finished, and while it held the log's lock no event could
be recorded). Only a regular file is read, opened without blocking and checked again once
open (it may have been replaced meanwhile), and at most a limit's bytes of it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# A signed checkpoint is a few lines; the limit `check-proof` puts on one an auditor gives.
CHECKPOINT_FILE_LIMIT = 1_000_000
# A PKCS#8 PEM Ed25519 key is 119 bytes.
KEY_FILE_LIMIT = 64 * 1024


class Unreadable(Exception):
    """A file that is not read; the message says why, without its path (the caller names it)."""


def _kind(mode: int) -> str | None:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a directory"
    return "it is not a regular file but a device, a pipe or a socket"


def _reason(exc: OSError) -> Unreadable:
    """The operating system's reason as `Unreadable`; an OSError that did not come from the
    operating system (no errno: a signal handler's TimeoutError, say) is raised as it is."""
    if exc.errno is None:
        raise exc
    return Unreadable(exc.strerror or str(exc))


def read_small_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path` (a symbolic link is followed), at most `limit`.

    Raises FileNotFoundError when there is no such file (or a link to none), and Unreadable
    when it is not a regular file, is larger than `limit` or cannot be read."""
    try:
        kind = _kind(os.stat(path).st_mode)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _reason(exc) from exc
    if kind is not None:
        raise Unreadable(kind)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _reason(exc) from exc
    with os.fdopen(fd, "rb") as file:
        kind = _kind(os.fstat(fd).st_mode)  # replaced since it was looked at
        if kind is not None:
            raise Unreadable(kind)
        try:
            data = file.read(limit + 1)
        except OSError as exc:
            raise _reason(exc) from exc
    if len(data) > limit:
        raise Unreadable(f"it is larger than {limit:,} bytes")
    return data
