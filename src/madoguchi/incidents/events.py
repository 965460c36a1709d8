"""Audit event types of the incidents domain (block 5000)."""

from collections.abc import Mapping
from typing import Any

from django.utils import translation

from madoguchi.audit.events import EventType, register

from .constants import IncidentKind


def describe_recorded(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The incident's kind in words (the audit line sits beside the incident's own sentence,
    which says why; the payload keeps the codes)."""
    kind = str(payload.get("kind", "?"))
    if kind not in IncidentKind.values:
        return {"kind": kind}
    with translation.override(lang):
        return {"kind": str(IncidentKind(kind).label)}


INCIDENT_RECORDED = register(
    EventType(
        5001,
        "incidents.recorded",
        ja="インシデントを記録しました（{kind}）",
        en="Incident recorded ({kind})",
        describe=describe_recorded,
    )
)
