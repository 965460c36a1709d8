"""Audit event types of desk checklists (block 3900-3949)."""

from madoguchi.audit.events import EventType, register

CHECKLISTS_TICKED = register(
    EventType(
        3901,
        "checklists.ticked",
        ja="チェック項目「{item}」を{state}（受付 {visit}）",
        en="Checklist item {item} {state} (visit {visit})",
    )
)
CHECKLISTS_VERSION_ACTIVATED = register(
    EventType(
        3902,
        "checklists.version_activated",
        ja="チェックリスト {template} 第{version}版を有効にしました",
        en="Checklist {template} version {version} activated",
    )
)
CHECKLISTS_VERSION_CREATED = register(
    EventType(
        3903,
        "checklists.version_created",
        ja="チェックリスト {name} の版 {version} を作成しました（未適用）",
        en="Checklist {name} version {version} created (not active)",
    )
)
