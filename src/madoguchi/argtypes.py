"""argparse types the commands share, pure (the card's commands and the simulators use them,
as the Django ones do): a refusal names what the value must be and the value given, in one
line, before the command does anything."""

from __future__ import annotations

import ipaddress
import math
import re
from argparse import ArgumentTypeError
from collections.abc import Callable

__all__ = ["any_port", "bind_address", "port", "seconds"]

LAST_PORT = 65535


def port(text: str) -> int:
    """A TCP port to connect to or listen on, 1–65535. `--port 99999` was tried for ten
    seconds and then refused as "connection refused"; the demo took it and blamed
    MADOGUCHI_ORIGIN."""
    return _port_from(text, 1)


# A host name or IPv4 address: labels of letters, digits and hyphens, separated by dots.
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*")
BIND_FORM = (
    "HOST:PORT, a port from 1 to 65535 (127.0.0.1:8000; an IPv6 address in brackets, "
    "[::1]:8000), unix:PATH or fd://N"
)


def bind_address(text: str) -> str:
    """Where a server listens, as gunicorn's --bind takes it: HOST:PORT (an IPv6 address in
    brackets), unix:PATH, or fd://N (a socket already listening, as the bench passes). `127.0.0.1:99999` reached gunicorn, whose OverflowError was a
    traceback; `nonsense` (no port) was taken as port 8000 without a word."""
    if text.startswith("unix:") and len(text) > len("unix:"):
        return text
    if re.fullmatch(r"fd://[0-9]+", text):  # a socket already listening (the bench's)
        return text
    host, sep, number = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        try:
            good_host = isinstance(ipaddress.ip_address(host[1:-1]), ipaddress.IPv6Address)
        except ValueError:
            good_host = False
    else:
        good_host = _HOST.fullmatch(host) is not None
    good_port = number.isascii() and number.isdigit() and 1 <= int(number) <= LAST_PORT
    if not (sep and good_host and good_port):
        raise ArgumentTypeError(f"must be {BIND_FORM}, not {text!r}")
    return text


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
