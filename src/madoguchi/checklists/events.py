"""Audit event types of desk checklists (block 3900-3949)."""

from madoguchi.audit.events import EventType, register

for _id, _name, _ja, _en in [
    (
        3901,
        "checklists.ticked",
        "チェック項目「{item}」を{state}（受付 {visit}）",
        "Checklist item {item} {state} (visit {visit})",
    ),
    (
        3902,
        "checklists.version_activated",
        "チェックリスト {template} 第{version}版を有効にしました",
        "Checklist {template} version {version} activated",
    ),
]:
    register(EventType(_id, _name, ja=_ja, en=_en))
