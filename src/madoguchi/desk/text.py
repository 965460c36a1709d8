"""What text a procedure may carry: no lone surrogates, control or bidirectional characters.

One rule for every procedure, applied by `services.procedure_prepare` to every string in the
fields (pages and API alike), before any handler sees them: such text cannot be put in the
canonical transaction the card signs (a lone surrogate is not UTF-8), and a control or
bidirectional character shown on the PIN pad or receipt can hide or reorder what is signed
(the rule itself is `madoguchi.plaintext.bad_character`, shared with the API and other pages).
"""

from __future__ import annotations

from typing import Any

from madoguchi.plaintext import bad_character


def bad_fields(fields: Any, path: str = "") -> dict[str, str]:
    """Field path -> English description, for every string (keys too) that is refused."""
    found: dict[str, str] = {}
    if isinstance(fields, str):
        reason = bad_character(fields)
        if reason:
            found[path or "value"] = reason
    elif isinstance(fields, dict):
        for key, value in fields.items():
            name = f"{path}.{key}" if path else str(key)
            key_reason = bad_character(key) if isinstance(key, str) else None
            if key_reason:
                found[name] = f"the field name contains {key_reason}"
            found.update(bad_fields(value, name))
    elif isinstance(fields, list | tuple):
        for i, value in enumerate(fields):
            found.update(bad_fields(value, f"{path}[{i}]"))
    return found


SHOWN_FIELDS = 20  # a refusal names at most this many fields …
SHOWN_NAME = 64  # … each at most this many characters


def shown_errors(errors: dict[str, str]) -> dict[str, str]:
    """`bad_fields`' answer in a form safe to send back: a field name is the client's own
    bytes, so a character that is refused is shown as "?", a name is cut at `SHOWN_NAME`
    characters ("…") and at most `SHOWN_FIELDS` fields are named (then "…": how many more)."""
    shown: dict[str, str] = {}
    for name in sorted(errors)[:SHOWN_FIELDS]:
        safe = "".join("?" if bad_character(c) else c for c in name)
        if len(safe) > SHOWN_NAME:
            safe = safe[: SHOWN_NAME - 1] + "…"
        shown[safe] = errors[name]
    if len(errors) > SHOWN_FIELDS:
        shown["…"] = f"and {len(errors) - SHOWN_FIELDS} more fields"
    return shown
