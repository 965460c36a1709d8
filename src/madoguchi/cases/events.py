"""Audit event types of cases (block 6000)."""

from madoguchi.audit.events import EventType, register

for _id, _name, _ja, _en in [
    (6001, "cases.opened", "ケース {case} を受け付けました", "Case {case} opened"),
    (
        6002,
        "cases.step",
        "ケース {case}: {kind}（{from_status} → {to_status}）",
        "Case {case}: {kind} ({from_status} -> {to_status})",
    ),
    (
        6003,
        "cases.report_edited",
        "ケース {case} の報告書を編集しました",
        "Case {case} report edited",
    ),
    (
        6004,
        "cases.legacy_link_added",
        "署名導入前の紐付け記録を登録しました（{resident}）",
        "Legacy link recorded ({resident})",
    ),
]:
    register(EventType(_id, _name, ja=_ja, en=_en))
