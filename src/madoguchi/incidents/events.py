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


# A locked PIN met again on the same card the same day: no new incident, this event on the
# incident already open for it (its times seen are these events, plus the first).
INCIDENT_PIN_LOCK_SEEN_AGAIN = register(
    EventType(
        5002,
        "incidents.pin_lock_seen_again",
        ja="同じカードのロックされた暗証番号に再び当たりました",
        en="The same card's locked PIN was met again",
    )
)
