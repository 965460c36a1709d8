"""`check --deploy`: the identifiers' key is a setting of its own in production, the demo is
not a deployment, and cards sign over the deployment's own https origin."""

from __future__ import annotations

import contextlib
import ipaddress
import os
from argparse import ArgumentTypeError
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.http.request import validate_host

from madoguchi.argtypes import bind_address


@checks.register(deploy=True)
def identifier_hash_key_apart(app_configs: Any = None, **kwargs: Any) -> list[checks.Warning]:
    """IDENTIFIER_HASH_KEY defaults to SECRET_KEY. Every keyed hash made with it (the card
    records' bindings, `identity.HolderRecord`; the payment service IDs, bank accounts,
    insured numbers and legacy links' card numbers) is known by that key only: rotating
    SECRET_KEY while the identifiers' key follows it would unbind them all."""
    key = settings.IDENTIFIER_HASH_KEY
    if key and key != settings.SECRET_KEY:
        return []
    return [
        checks.Warning(
            "IDENTIFIER_HASH_KEY is not set apart from SECRET_KEY: rotating SECRET_KEY would "
            "unbind every card record (identity.HolderRecord) and make every stored payment "
            "service ID, bank account, insured number and legacy card number hash unmatchable.",
            hint="Set IDENTIFIER_HASH_KEY to a long random string of its own and keep it when "
            "SECRET_KEY is rotated. A deployment that ran on the default sets it to the current "
            "SECRET_KEY's value first, then rotates SECRET_KEY (README, Configuration).",
            id="madoguchi.W102",
        )
    ]


@checks.register(deploy=True)
def not_the_demo(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """`MADOGUCHI_DEMO` makes the demo: the checks of the test CA and its key (E105, E106) stand
    aside for it, terminals enrol with one click from the demo's credentials file, mail goes to
    the console, and a missing SECRET_KEY is made up in the data folder. A deployment started
    with the demo's environment would have all that and be told nothing."""
    if not settings.DEMO:
        return []
    return [
        checks.Error(
            "MADOGUCHI_DEMO is on: this is the demo (the test CA and its input-support key "
            "trusted without a word, terminals enrolled with one click from the demo's "
            "credentials, mail written to the console, a SECRET_KEY made up in the data "
            "folder), not a deployment.",
            hint="Unset MADOGUCHI_DEMO on a deployment (README, Configuration).",
            id="madoguchi.E107",
        )
    ]


def _origin_problems(name: str, origin: str) -> list[str]:
    """What is wrong, on a deployment, with the origin card tokens are signed over."""
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    loopback = host == "localhost" or host.endswith(".localhost")
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if loopback:
        return [
            f"{name} is {origin}, a loopback address (the default): every card a desk's browser "
            "signs at the deployment's own address names that address, and is refused "
            "(origin_mismatch)."
        ]
    found = []
    if parts.scheme != "https":
        found.append(
            f"{name} is {origin}, plain http: the origin a card signs names a page anyone on the "
            "way can stand in for, and the sign-in cookies travel in the clear."
        )
    if not any(validate_host(host, [allowed]) for allowed in settings.ALLOWED_HOSTS):
        found.append(
            f"{name} is {origin}, whose host is not in ALLOWED_HOSTS: its pages would be "
            "refused (400) where its cards sign."
        )
    return found


@checks.register(deploy=True)
def card_origins_served(app_configs: Any = None, **kwargs: Any) -> list[checks.Warning]:
    """The origins card tokens are signed over (`MADOGUCHI_ORIGIN`, and `RESIDENT_ORIGIN` when
    set) are the deployment's own https addresses. A deployment that left the default
    (http://127.0.0.1:8000) started, and refused every card at the desk, with nothing said."""
    if settings.DEMO:
        return []
    origins = [("MADOGUCHI_ORIGIN", settings.MADOGUCHI_ORIGIN)]
    if settings.RESIDENT_ORIGIN:
        origins.append(("RESIDENT_ORIGIN", settings.RESIDENT_ORIGIN))
    return [
        checks.Warning(
            problem,
            hint=f"Set {name} to the https origin the pages are served at (scheme and host as "
            "the browser's address bar shows them, such as https://madoguchi.example.jp), its "
            "host in ALLOWED_HOSTS (README, Configuration).",
            id="madoguchi.W109",
        )
        for name, origin in origins
        for problem in _origin_problems(name, origin)
    ]


# Switches for the benchmarks and the tests, each with what it opens on a deployment.
TEST_SWITCHES = {
    "MADOGUCHI_BENCH": (
        "the benchmark's floor view (/bench/floor: anyone may write rows there, no sign-in, "
        "no CSRF check) and its SQL counters are mounted",
        "madoguchi.E112",
    ),
    "DESK_TEST_PROCEDURE": (
        "the desks offer the stand-in procedure test_link, which commits a made-up link that "
        "no real programme knows",
        "madoguchi.E113",
    ),
}


@checks.register(deploy=True)
def no_test_switches(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """The benchmark's and the tests' switches are off on a deployment (`E107` names the demo,
    which sets the second for its incident scenario)."""
    if settings.DEMO:
        return []
    return [
        checks.Error(
            f"{name} is on: {opens}.",
            hint=f"Unset {name}: it is for madoguchi's own benchmarks and tests only.",
            id=check_id,
        )
        for name, (opens, check_id) in TEST_SWITCHES.items()
        if getattr(settings, name, False)
    ]


@checks.register()
def bind_address_usable(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """MADOGUCHI_BIND, where `madoguchi serve` listens, is an address gunicorn can take: a port
    past 65535 was gunicorn's traceback, and one without a port was port 8000 without a word.
    `serve` refuses it in one line; `check` (which a deployment runs first) names it too."""
    text = os.environ.get("MADOGUCHI_BIND") or ""
    if not text:
        return []
    try:
        bind_address(text)
    except ArgumentTypeError as exc:
        return [
            checks.Error(
                f"MADOGUCHI_BIND {exc}: `madoguchi serve` would refuse to start.",
                hint="Set MADOGUCHI_BIND to HOST:PORT, e.g. 127.0.0.1:8000, or unset it "
                "(README, Configuration).",
                id="madoguchi.E114",
            )
        ]
    return []
