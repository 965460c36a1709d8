"""The odd files an operator may hand a command that reads one (`madoguchi.cli.read_text_file`):
missing, a directory, a device that never ends, text that is not UTF-8, and one too large. Each
is one line saying why, the command's own noun in the first."""

from __future__ import annotations

from pathlib import Path

import pytest


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def odd_files(what: str) -> pytest.MarkDecorator:
    """Parametrize a test with `make` (the folder of the test -> the path to give) and `says`
    (what the refusal says), `what` being the file's noun ("session log file")."""
    return pytest.mark.parametrize(
        ("make", "says"),
        [
            (lambda d: d / "absent.txt", f"no such {what}"),
            (lambda d: d, "it is a directory"),
            (lambda d: "/dev/zero", "not a regular file"),
            (lambda d: written(d / "sjis.txt", "時刻".encode("shift_jis")), "not UTF-8 text"),
            (lambda d: written(d / "huge.txt", b"a" * 1_000_001), "larger than 1,000,000 bytes"),
        ],
        ids=["missing", "directory", "device", "not-utf8", "huge"],
    )
