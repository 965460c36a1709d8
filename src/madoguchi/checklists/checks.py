"""`check --deploy`: a deployment without an active checklist refuses every completion."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register
from django.db import DatabaseError

from .services import template_active


@register(deploy=True)
def active_checklist(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        active = template_active()
    except DatabaseError as exc:
        return [
            Error(
                f"Cannot read the checklists from the database ({exc.__class__.__name__}).",
                hint="Run `madoguchi migrate` (it installs the default checklist).",
                id="madoguchi.E101",
            )
        ]
    if active is None:
        return [
            Error(
                "No active desk checklist: every completion would be refused.",
                hint="Run `madoguchi checklist install-default`, or activate a version in the "
                "admin.",
                id="madoguchi.E100",
            )
        ]
    return []
