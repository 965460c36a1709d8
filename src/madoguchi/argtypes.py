"""argparse types the commands share, pure (the card's commands and the simulators use them,
as the Django ones do): a refusal names what the value must be and the value given, in one
line, before the command does anything."""

from __future__ import annotations

import math
from argparse import ArgumentTypeError
from collections.abc import Callable

__all__ = ["any_port", "port", "seconds"]

LAST_PORT = 65535


def port(text: str) -> int:
    """A TCP port to connect to or listen on, 1–65535. `--port 99999` was tried for ten
    seconds and then refused as "connection refused"; the demo took it and blamed
    MADOGUCHI_ORIGIN."""
    return _port_from(text, 1)


def any_port(text: str) -> int:
    """A port to listen on, 0–65535: 0 lets the system choose a free one."""
    return _port_from(text, 0)


def _port_from(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not least <= value <= LAST_PORT:
        raise ArgumentTypeError(
            f"a port is a whole number from {least} to {LAST_PORT}, not {text!r}"
        )
    return value


def seconds(*, zero: bool) -> Callable[[str], float]:
    """An interval: a number of seconds, more than 0 (or 0 too when `zero`), finite. A
    negative or zero poll interval made the loops poll the database without pause."""
    least = "at least 0" if zero else "more than 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (value >= 0 if zero else value > 0) or math.isinf(value):
            raise ArgumentTypeError(f"must be a number of seconds {least}, not {text!r}")
        return value

    return parse
