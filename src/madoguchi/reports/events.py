"""Audit event types of contractor reports (block 5000, after incidents)."""

from madoguchi.audit.events import EventType, register

REPORT_SUBMITTED = register(
    EventType(
        5101,
        "reports.daily_submitted",
        ja="日次報告を提出しました（{terminal_name} {day}、インシデント {incidents} 件、SHA-256 {sha256}）",
        en="Daily report submitted ({terminal_name} {day}, {incidents} incidents, SHA-256 {sha256})",
    )
)
