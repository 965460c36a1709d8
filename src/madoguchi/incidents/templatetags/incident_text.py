"""`{{ incident|incident_text }}`: an incident's sentence in the active language."""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.incidents import text

register = template.Library()


@register.filter(name="incident_text")
def incident_text(incident: Any) -> str:
    return text.incident_text(incident)
