"""Audit event types of the incidents domain (block 5000)."""

from madoguchi.audit.events import EventType, register

INCIDENT_RECORDED = register(
    EventType(
        5001,
        "incidents.recorded",
        ja="インシデントを記録しました（{kind}: {reason}）",
        en="Incident recorded ({kind}: {reason})",
    )
)
