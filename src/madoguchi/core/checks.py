"""`check --deploy`: the identifiers' key is a setting of its own in production, and the demo
is not a deployment."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


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
