"""Audit event types of the forensic scan's records (block 7000): what leaves the database
as scan input, and what a run puts before the officials."""

from madoguchi.audit.events import EventType, register

SCANS_EXPORTED = register(
    EventType(
        7001,
        "scans.exported",
        ja="{os_user} が紐付け点検の入力として記録を書き出しました（住民 {residents} 件、紐付け "
        "{links} 件、端末記録 {events} 件、書き出し先 {directory}）",
        en="{os_user} exported the records as scan input ({residents} residents, {links} links, "
        "{events} desk events, to {directory})",
    )
)
SCANS_RUN_RECORDED = register(
    EventType(
        7002,
        "scans.run_recorded",
        ja="{os_user} が紐付け点検の結果 #{run} を記録しました（検出 {findings} 件、入力 {input_dir}）",
        en="{os_user} recorded scan run #{run} ({findings} findings, input {input_dir})",
    )
)
