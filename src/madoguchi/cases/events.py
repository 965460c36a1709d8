"""Audit event types of cases (block 6000)."""

from collections.abc import Mapping
from typing import Any

from madoguchi.audit.events import EventType, in_labels, register

from .constants import CaseStatus, EntryKind

_STEP_WORDS = (
    in_labels("kind", EntryKind),
    in_labels("from_status", CaseStatus),
    in_labels("to_status", CaseStatus),
)


def describe_step(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """A step's kind and the two statuses as their labels (the line read 「ケース CASE-00001:
    suspension（investigation → suspended）」); an unknown code stays as it is."""
    out: dict[str, str] = {}
    for describe in _STEP_WORDS:
        out.update(describe(payload, lang))
    return out


CASES_OPENED = register(
    EventType(
        6001,
        "cases.opened",
        ja="ケース {case} を受け付けました",
        en="Case {case} opened",
    )
)
CASES_STEP = register(
    EventType(
        6002,
        "cases.step",
        ja="ケース {case}: {kind}（{from_status} → {to_status}）",
        en="Case {case}: {kind} ({from_status} -> {to_status})",
        describe=describe_step,
    )
)
CASES_REPORT_EDITED = register(
    EventType(
        6003,
        "cases.report_edited",
        ja="ケース {case} の報告書を編集しました",
        en="Case {case} report edited",
    )
)
CASES_LEGACY_LINK_ADDED = register(
    EventType(
        6004,
        "cases.legacy_link_added",
        ja="署名導入前の紐付け記録を登録しました（{resident}）",
        en="Legacy link recorded ({resident})",
    )
)
CASES_LEGACY_LINK_ATTACHED = register(
    EventType(
        6005,
        "cases.legacy_link_attached",
        ja="ケース {case} に署名導入前の紐付け記録を結び付けました（{resident}）",
        en="Legacy link ({resident}) attached to case {case}",
    )
)
