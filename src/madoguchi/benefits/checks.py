"""`check` (and `serve`, which runs the checks before it starts): the certified-reading adapter
that BENEFITS_CERTIFIED_READING names can be imported.

It is imported only when a desk checks a holder's name, so a misspelt module went unseen until
the first resident's name check at a desk failed with a server error."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string


@register()
def certified_reading_adapter(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    path = getattr(settings, "BENEFITS_CERTIFIED_READING", "")
    if not path:
        return []
    hint = (
        "Give package.module:factory of an installed module (a callable that returns the "
        "adapter), or leave BENEFITS_CERTIFIED_READING empty to have the resident's kana typed "
        "and confirmed at the desk (docs/benefits.md)."
    )
    try:
        factory = import_string(path.replace(":", "."))
    except ImportError as exc:
        return [
            Error(
                f"BENEFITS_CERTIFIED_READING is {path!r}, which cannot be imported ({exc}): "
                "every desk's name check would fail.",
                hint=hint,
                id="madoguchi.E103",
            )
        ]
    if not callable(factory):
        return [
            Error(
                f"BENEFITS_CERTIFIED_READING is {path!r}, which is not a factory that can be "
                "called: every desk's name check would fail.",
                hint=hint,
                id="madoguchi.E103",
            )
        ]
    return []
