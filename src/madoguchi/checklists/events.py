"""Audit event types of desk checklists (block 3900-3949)."""

from collections.abc import Mapping
from typing import Any

from madoguchi.audit.events import EventType, register
from madoguchi.language import english

STATE_TEXTS = {
    "ticked": {"ja": "確認済みにしました", "en": "ticked"},
    "withdrawn": {"ja": "未確認に戻しました", "en": "withdrawn"},
}


def describe_tick(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The item's label (recorded with the tick) and the state in words, for the audit line."""
    en = english(lang)
    label = payload.get("label_en" if en else "label_ja") or payload.get("item", "?")
    state = STATE_TEXTS.get(str(payload.get("state", "")), {})
    return {
        "item_label": str(label),
        "state_text": state.get("en" if en else "ja", str(payload.get("state", "?"))),
    }


CHECKLISTS_TICKED = register(
    EventType(
        3901,
        "checklists.ticked",
        ja="チェック項目「{item_label}」を{state_text}（受付 {visit}）",
        en="Checklist item \u201c{item_label}\u201d {state_text} (visit {visit})",
        describe=describe_tick,
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
# The system's withdrawal (no actor): a procedure prepared or discarded changed the summary the
# card will sign, so the item that confirmed the old one is to be ticked again.
CHECKLISTS_SUMMARY_CHANGED = register(
    EventType(
        3904,
        "checklists.summary_changed",
        ja="確定内容が変わったため、チェック項目「{item_label}」を未確認に戻しました（受付 {visit}）",
        en="The summary changed: checklist item \u201c{item_label}\u201d withdrawn (visit {visit})",
        describe=describe_tick,
    )
)
