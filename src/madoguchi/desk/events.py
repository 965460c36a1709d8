"""Audit event types of visits (block 3100-3199)."""

from madoguchi.audit.events import EventType, register

for _id, _name, _ja, _en in [
    (3101, "visits.started", "受付を開始しました（受付 {visit}）", "Visit {visit} started"),
    (
        3102,
        "visits.ended",
        "受付を終了しました（受付 {visit}、理由: {reason}）",
        "Visit {visit} ended ({reason})",
    ),
    (3103, "visits.card_inserted", "カードが置かれました", "Card inserted"),
    (3104, "visits.card_removed", "カードが取り外されました", "Card removed"),
    (
        3105,
        "visits.procedure_prepared",
        "手続き {kind} を準備しました（受付 {visit}）",
        "Procedure {kind} prepared in visit {visit}",
    ),
    (
        3106,
        "visits.completion_challenge",
        "確定内容をカードの署名のために提示しました（受付 {visit}）",
        "Completion presented for the card's signature (visit {visit})",
    ),
    (
        3107,
        "visits.completed",
        "カードの署名で確定しました（受付 {visit}、手続き {count} 件）",
        "Completed with the card's signature (visit {visit}, {count} procedures)",
    ),
    (
        3108,
        "visits.completion_refused",
        "確定を拒否しました（受付 {visit}、理由: {code}）",
        "Completion refused (visit {visit}: {code})",
    ),
    (
        3109,
        "visits.procedure_discarded",
        "手続き {kind} を取り消しました（受付 {visit}）",
        "Procedure {kind} discarded in visit {visit}",
    ),
]:
    register(EventType(_id, _name, ja=_ja, en=_en))
