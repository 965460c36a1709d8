"""`check` (run by `serve` before it starts): the J-LIS input-support keys load; `check
--deploy`: a deployment has some, and not the test CA's.

The keys (`CARD_SUPPORT_KEYS`) were loaded first when a desk read a card's basic four, so a
mistyped key ID or path was a server error at that desk, and none at all refused every read
(`basic_four_unverifiable`) with nothing said before."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from madoguchi.card.cvcert import KEY_ID_LENGTH, load_key_table
from madoguchi.card.testca import SUPPORT_ROOT_KEY_ID

_HINT = (
    f"Give KEYID=PEM pairs separated by commas: the key's {KEY_ID_LENGTH}-byte ID in "
    f"{2 * KEY_ID_LENGTH} hex digits and the path of its PEM RSA public key (docs/desk.md)."
)


def _specs() -> list[str]:
    return [s for s in getattr(settings, "CARD_SUPPORT_KEYS", []) if s]


@register()
def card_support_keys_load(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    specs = _specs()
    if not specs:
        return []
    try:
        load_key_table(specs)
    except (ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        return [
            Error(
                f"CARD_SUPPORT_KEYS cannot be loaded ({reason}): every read of a card's basic "
                "four at a desk would fail.",
                hint=_HINT,
                id="madoguchi.E104",
            )
        ]
    return []


@register(deploy=True)
def card_support_keys_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEMO:
        return []
    test_key = SUPPORT_ROOT_KEY_ID.hex()
    if any(spec.partition("=")[0].strip().lower() == test_key for spec in _specs()):
        # The demo server's own setting (`core.demo.support_key_spec`) carried to a deployment.
        return [
            Error(
                f"CARD_SUPPORT_KEYS holds the test CA's input-support key ({test_key}, "
                f"{SUPPORT_ROOT_KEY_ID.decode()}): the basic four of virtual cards, which "
                "anyone makes with madoguchi vcard issue, would be taken as J-LIS-certified.",
                hint="Remove it; give J-LIS's input-support keys only. " + _HINT,
                id="madoguchi.E106",
            )
        ]
    if _specs():
        return []
    return [
        Warning(
            "CARD_SUPPORT_KEYS is not set: no card's basic four (the name procedures carry, "
            "the birth date a minor's needs) can be verified, so every read of them at a desk "
            "is refused.",
            hint="Set it to J-LIS's input-support keys. " + _HINT,
            id="madoguchi.W103",
        )
    ]
