"""Audit event types of the incidents domain (block 5000)."""

from collections.abc import Mapping
from typing import Any

from django.utils import translation

from madoguchi.audit.events import EventType, register
from madoguchi.refusals import describe_code

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


# A completion of a visit that had already ended refused again, for the reason of a refusal
# already recorded for it that day: no new incident, this event on that incident (its times
# seen are these events, plus the first). Each attempt is also `visits.completion_refused` on
# the visit, as every refused completion is.
INCIDENT_COMPLETION_REFUSED_AGAIN = register(
    EventType(
        5003,
        "incidents.completion_refused_again",
        ja="同じ受付の確定が同じ理由で再び拒否されました（受付 {visit}、理由: {code}）",
        en="The same visit's completion was refused again for the same reason (visit {visit}: {code})",
        describe=describe_code,
    )
)
