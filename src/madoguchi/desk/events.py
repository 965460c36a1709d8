"""Audit event types of visits (block 3100-3199)."""

from collections.abc import Mapping
from typing import Any

from django.utils import translation

from madoguchi.audit.events import EventType, register
from madoguchi.refusals import describe_code

from .constants import VisitEndReason


def describe_procedure(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The procedure's name for its kind, for the audit line (officials read 「マイナポイントの
    申込」, not point_application)."""
    from .procedures import label  # the registry, filled as the apps load

    return {"kind": label(str(payload.get("kind", "?")), lang)}


def describe_end(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """Why the visit ended, in words (as the officials' visit page says it)."""
    reason = str(payload.get("reason", "?"))
    if reason not in VisitEndReason.values:
        return {"reason": reason}
    with translation.override(lang):
        return {"reason": str(VisitEndReason(reason).label)}


VISITS_STARTED = register(
    EventType(
        3101,
        "visits.started",
        ja="受付を開始しました（受付 {visit}）",
        en="Visit {visit} started",
    )
)
VISITS_ENDED = register(
    EventType(
        3102,
        "visits.ended",
        ja="受付を終了しました（受付 {visit}、理由: {reason}）",
        en="Visit {visit} ended ({reason})",
        describe=describe_end,
    )
)
VISITS_CARD_INSERTED = register(
    EventType(
        3103,
        "visits.card_inserted",
        ja="カードが置かれました",
        en="Card inserted",
    )
)
VISITS_CARD_REMOVED = register(
    EventType(
        3104,
        "visits.card_removed",
        ja="カードが取り外されました",
        en="Card removed",
    )
)
VISITS_PROCEDURE_PREPARED = register(
    EventType(
        3105,
        "visits.procedure_prepared",
        ja="手続き {kind} を準備しました（受付 {visit}）",
        en="Procedure {kind} prepared in visit {visit}",
        describe=describe_procedure,
    )
)
VISITS_COMPLETION_CHALLENGE = register(
    EventType(
        3106,
        "visits.completion_challenge",
        ja="確定内容をカードの署名のために提示しました（受付 {visit}）",
        en="Completion presented for the card's signature (visit {visit})",
    )
)
VISITS_COMPLETED = register(
    EventType(
        3107,
        "visits.completed",
        ja="カードの署名で確定しました（受付 {visit}、手続き {count} 件）",
        en="Completed with the card's signature (visit {visit}, procedures: {count})",
    )
)
VISITS_COMPLETION_REFUSED = register(
    EventType(
        3108,
        "visits.completion_refused",
        ja="確定を拒否しました（受付 {visit}、理由: {code}）",
        en="Completion refused (visit {visit}: {code})",
        describe=describe_code,
    )
)
VISITS_PROCEDURE_DISCARDED = register(
    EventType(
        3109,
        "visits.procedure_discarded",
        ja="手続き {kind} を取り消しました（受付 {visit}）",
        en="Procedure {kind} discarded in visit {visit}",
        describe=describe_procedure,
    )
)
VISITS_HANDOVER_STARTED = register(
    EventType(
        3110,
        "visits.handover_started",
        ja="カードの受け渡しを開始しました（受付 {visit}、法定代理人のカードを受け付けます）",
        en="Card handover started in visit {visit} (the representative's card is accepted)",
    )
)
VISITS_BASIC_FOUR_VERIFIED = register(
    EventType(
        3111,
        "visits.basic_four_verified",
        ja="カードの基本4情報を検証しました（受付 {visit}、J-LIS の署名を確認）",
        en="The card's basic four were verified (visit {visit}, J-LIS signature checked)",
    )
)
VISITS_PRIVATE_FIELDS_PURGED = register(
    EventType(
        3112,
        "visits.private_fields_purged",
        ja="終了した来庁の手続から、控えておいた非公開の項目を削除しました（{count} 件）",
        en="Private fields kept for ended visits' procedures were removed ({count} procedures)",
    )
)
