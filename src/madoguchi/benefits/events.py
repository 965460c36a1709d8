"""Audit event types of benefits (block 4000-4999)."""

import re
import threading
from collections.abc import Mapping
from typing import Any

from madoguchi.audit.events import EventType, in_words, register, together
from madoguchi.language import english
from madoguchi.outside.errors import ERRORS_BY_CODE, System


def describe_insurer_code(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The insurer's refusal `code` as what happened (the first sentence of the message staff
    were shown, without what to do next); an unknown code stays as it is."""
    from .services.outbox import CHANGED  # the services import this module

    code = str(payload.get("code", "?"))
    in_english = english(lang)
    if code == CHANGED.code:
        text = CHANGED.message_en if in_english else CHANGED.message_ja
    elif code in ERRORS_BY_CODE:
        error = ERRORS_BY_CODE[code](system=System.INSURER)
        text = error.message_en if in_english else error.message_ja
    else:
        return {"code": code}
    text = re.sub(r"\s*[（(][）)]", "", text)  # a detail the audit line does not have
    first = re.split(r"(?<=。)|(?<=\.)\s", text, maxsplit=1)[0]
    return {"code": first.rstrip("。.")}


_names = threading.local()


def provider_names_memo_start(**_: Any) -> None:
    """A request's memo of the providers' display names (connected to `request_started`): a
    page of audit lines asks the database once per provider, not once per line. Outside a
    request (commands, the worker) every line asks, so an edited name is never stale there."""
    _names.memo = {}


def provider_names_memo_end(**_: Any) -> None:
    _names.memo = None


def _provider_names(code: str) -> tuple[str, str] | None:
    from .models import Provider  # the models import this module's app

    memo: dict[str, tuple[str, str] | None] | None = getattr(_names, "memo", None)
    if memo is not None and code in memo:
        return memo[code]
    row = Provider.objects.filter(code=code).values_list("display_name_ja", "display_name_en")
    names = row.first()
    if memo is not None:
        memo[code] = names
    return names


def describe_provider(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The payment service's display name for its stored `provider` code (officials and
    residents read 「シミュレーションペイ」, not sim-pay); an unknown code stays as it is."""
    code = str(payload.get("provider", "?"))
    names = _provider_names(code)
    if names is None:
        return {"provider": code}
    name_ja, name_en = names
    if english(lang):
        return {"provider": name_en or name_ja}
    return {"provider": name_ja}


# A ledger transfer's kind as a person reads it (the audit line read 「ポイントの記帳: grant 7500
# ポイント」 on an official's visit page); an unknown kind stays as it is.
TRANSFER_KIND_WORDS = {
    "grant": ("付与", "grant"),
    "suspension": ("停止", "suspension"),
    "return": ("返還", "return"),
    "regrant": ("再付与", "re-grant"),
    "payout": ("支払い", "payout"),
}


# What reconciliation with the insurer found and did, as a person reads it (the line read
# 「外部システムとの突合: missing_at_insurer（incident recorded）」); unknown words stay as they are.
RECONCILE_FINDING_WORDS = {
    "not_sent": (
        "保険者へまだ送っていない登録の依頼",
        "a registration not yet sent to the insurer",
    ),
    "answered_not_recorded": (
        "保険者が回答し、こちらに記録されていない登録の依頼",
        "a registration the insurer answered that was not recorded here",
    ),
    "missing_at_insurer": ("保険者にない登録", "a registration the insurer does not hold"),
    "refused_but_registered": (
        "保険者が断ったのに保険者にある登録",
        "a registration the insurer refused yet holds",
    ),
    "unknown_to_us": ("こちらに記録のない保険者の登録", "an insurer's registration unknown here"),
    "registered_twice": (
        "一つの依頼で保険者に二重にある登録",
        "a request the insurer registered twice",
    ),
    "registration_ref_differs": (
        "保険者の参照番号がこちらの記録と異なる登録",
        "a registration the insurer holds under another reference than ours",
    ),
    "suspended_but_registered": (
        "停止したのに保険者に残る登録",
        "a suspended registration the insurer still holds",
    ),
    "suspension_not_sent": ("保険者へまだ送っていない停止の依頼", "a suspension not yet sent"),
    "suspension_answered_not_recorded": (
        "保険者が回答し、こちらに記録されていない停止の依頼",
        "a suspension the insurer answered that was not recorded here",
    ),
    "cancelled_but_not_suspended": (
        "保険者が取り消し、こちらで停止されていない登録",
        "a registration the insurer cancelled that was not suspended here",
    ),
}
RECONCILE_OUTCOME_WORDS = {
    "done": ("完了", "done"),
    "registered": ("登録済み", "registered"),
    "refused": ("断られた", "refused"),
    "retry": ("再試行を待つ", "to be retried"),
    "suspended": ("停止", "suspended"),
}
# A registration marked registered with a flag for an official (outbox.PERSON_DIFFERS).
RECONCILE_CODE_WORDS = {
    "registered_person_differs": (
        "保険者の被保険者情報が署名と異なる",
        "the insurer's record of the person differs from what was signed",
    ),
}
_MARKED = re.compile(r"marked (\w+)(?: (\S+))?")
_RESENT = re.compile(r"re-sent: (\w+)(?: (\S+))?")


def describe_reconciled(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    at = 1 if english(lang) else 0
    finding = str(payload.get("finding", "?"))
    action = str(payload.get("action", ""))
    words = RECONCILE_FINDING_WORDS.get(finding)
    out = {"finding": words[at] if words else finding, "action": action}
    outcome = _MARKED.fullmatch(action) or _RESENT.fullmatch(action)
    if action == "incident recorded":
        out["action"] = ("インシデントを記録しました", "incident recorded")[at]
    elif outcome is not None and outcome.group(1) in RECONCILE_OUTCOME_WORDS:
        said = RECONCILE_OUTCOME_WORDS[outcome.group(1)][at]
        code = f" {outcome.group(2)}" if outcome.group(2) else ""
        if outcome.group(2) in RECONCILE_CODE_WORDS:
            said_code = RECONCILE_CODE_WORDS[outcome.group(2)][at]
            code = (f"（{said_code}）", f" ({said_code})")[at]
        if outcome.re is _MARKED:
            out["action"] = (f"{said}{code}として記録しました", f"recorded as {said}{code}")[at]
        else:
            out["action"] = (f"送り直しました: {said}{code}", f"sent again: {said}{code}")[at]
    return out


BENEFITS_LINK_CREATED = register(
    EventType(
        4001,
        "benefits.link_created",
        ja="決済サービスを紐付けました（{provider} {account}）",
        en="Payment service linked ({provider} {account})",
        describe=describe_provider,
    )
)
BENEFITS_LINK_SUSPENDED = register(
    EventType(
        4002,
        "benefits.link_suspended",
        ja="紐付けを利用停止にしました（{provider} {account}、理由: {reason}）",
        en="Link suspended ({provider} {account}: {reason})",
        describe=describe_provider,
    )
)
BENEFITS_LINK_REPLACED = register(
    EventType(
        4003,
        "benefits.link_replaced",
        ja="紐付けを是正手続きで置き換えました（{provider} {account}）",
        en="Link replaced through a case ({provider} {account})",
        describe=describe_provider,
    )
)
BENEFITS_PUBLIC_FUND_REGISTERED = register(
    EventType(
        4004,
        "benefits.public_fund_registered",
        ja="公金受取口座を登録しました（{bank} ＊＊＊＊{last4}）",
        en="Public-fund account registered ({bank} ****{last4})",
    )
)
BENEFITS_HEALTH_INSURANCE_REGISTERED = register(
    EventType(
        4005,
        "benefits.health_insurance_registered",
        ja="健康保険証の利用登録をしました（保険者 {insurer}）",
        en="Health-insurance use registered (insurer {insurer})",
    )
)
BENEFITS_REPRESENTATIVE_AUTHENTICATED = register(
    EventType(
        4006,
        "benefits.representative_authenticated",
        ja="法定代理人（{relationship_ja}）が本人のカードで認証しました（受付 {visit}）",
        en="Legal representative ({relationship}) authenticated with their own card (visit {visit})",
    )
)
BENEFITS_LEDGER_TRANSFER = register(
    EventType(
        4007,
        "benefits.ledger_transfer",
        ja="ポイントの記帳: {kind} {points} ポイント",
        en="Points posted: {kind} {points} points",
        describe=in_words("kind", TRANSFER_KIND_WORDS),
    )
)
BENEFITS_PAYOUT_SENT = register(
    EventType(
        4008,
        "benefits.payout_sent",
        ja="ポイントを付与依頼しました（{provider}、バッチ {batch}、{points} ポイント）",
        en="Payout sent ({provider}, batch {batch}, {points} points)",
        describe=describe_provider,
    )
)
BENEFITS_PROGRAMME_VERSION_CREATED = register(
    EventType(
        4009,
        "benefits.programme_version_created",
        ja="事業 {programme} の第 {version} 版を作成しました",
        en="Programme {programme} version {version} created",
    )
)
# Recorded by `receipts.receipt_email`, which nothing called and was removed (twenty-second
# session): kept registered so that events already in a log still read, and its id is not reused.
BENEFITS_RECEIPT_EMAILED = register(
    EventType(
        4010,
        "benefits.receipt_emailed",
        ja="控えをメールで送信しました（受付 {visit}）",
        en="Receipt emailed (visit {visit})",
    )
)
BENEFITS_HEALTH_INSURANCE_REQUESTED = register(
    EventType(
        4011,
        "benefits.health_insurance_requested",
        ja="健康保険証の利用登録を保険者へ依頼します（保険者 {insurer}、登録手続き中）",
        en="Health-insurance use registration queued for the insurer (insurer {insurer})",
    )
)
BENEFITS_HEALTH_INSURANCE_REFUSED = register(
    EventType(
        4012,
        "benefits.health_insurance_refused",
        ja="保険者が健康保険証の利用登録を受け付けませんでした（保険者 {insurer}、理由 {code}）",
        en="The insurer refused the health-insurance use registration (insurer {insurer}: {code})",
        describe=describe_insurer_code,
    )
)
BENEFITS_OUTSIDE_RECONCILED = register(
    EventType(
        4013,
        "benefits.outside_reconciled",
        ja="外部システムとの突合: {finding}（{action}）",
        en="Reconciled with the outside system: {finding} ({action})",
        describe=describe_reconciled,
    )
)
BENEFITS_PUBLIC_FUND_SUSPENDED = register(
    EventType(
        4014,
        "benefits.public_fund_suspended",
        ja="公金受取口座の登録を利用停止にしました（{bank} ＊＊＊＊{last4}、理由: {reason}）",
        en="Public-fund account registration suspended ({bank} ****{last4}: {reason})",
    )
)
BENEFITS_PUBLIC_FUND_RELEASED = register(
    EventType(
        4015,
        "benefits.public_fund_released",
        ja="公金受取口座の登録を是正手続きで解除しました（{bank} ＊＊＊＊{last4}、事案 {case}）",
        en="Public-fund account registration released through a case ({bank} ****{last4}, case {case})",
    )
)
BENEFITS_HEALTH_INSURANCE_SUSPENSION_REQUESTED = register(
    EventType(
        4016,
        "benefits.health_insurance_suspension_requested",
        ja="健康保険証の利用登録の利用停止を保険者へ依頼します（保険者 {insurer}、事案 {case}）",
        en="Suspension of a health-insurance use registration queued for the insurer "
        "(insurer {insurer}, case {case})",
    )
)
BENEFITS_HEALTH_INSURANCE_SUSPENDED = register(
    EventType(
        4017,
        "benefits.health_insurance_suspended",
        ja="保険者が健康保険証の利用登録を利用停止にしました（保険者 {insurer}、事案 {case}）",
        en="The insurer suspended the health-insurance use registration "
        "(insurer {insurer}, case {case})",
    )
)
BENEFITS_HEALTH_INSURANCE_SUSPENSION_REFUSED = register(
    EventType(
        4018,
        "benefits.health_insurance_suspension_refused",
        ja="保険者が健康保険証の利用登録の利用停止を受け付けませんでした（保険者 {insurer}、"
        "事案 {case}、理由 {code}）",
        en="The insurer refused to suspend the health-insurance use registration "
        "(insurer {insurer}, case {case}: {code})",
        describe=describe_insurer_code,
    )
)

# Why a payout item was taken out of its batch before the batch was sent (constants.WITHDRAWN_*).
WITHDRAWN_REASON_WORDS = {
    "link_suspended": ("紐付けの利用停止", "the link was suspended"),
    "link_not_effective": ("紐付けが有効でない", "the link is no longer effective"),
    "points_returned": ("ポイントの返還", "the points were returned"),
    "points_not_due": ("未払いのポイントがない", "the points are no longer due"),
}
BENEFITS_PAYOUT_ITEM_WITHDRAWN = register(
    EventType(
        4019,
        "benefits.payout_item_withdrawn",
        ja="送信前の支払いバッチから除きました（{provider} {account}、バッチ {batch}、"
        "{points} ポイント、理由: {reason}）",
        en="Withdrawn from a payout batch before sending ({provider} {account}, batch {batch}, "
        "{points} points: {reason})",
        describe=together(describe_provider, in_words("reason", WITHDRAWN_REASON_WORDS)),
    )
)

# Why the provider refused a payout item (its answer's reason code); an unknown one stays.
REFUSED_REASON_WORDS = {
    "account_suspended": (
        "決済サービスでアカウントが利用停止中",
        "the account is suspended at the payment service",
    ),
    "account_closed": (
        "決済サービスでアカウントが解約済み",
        "the account is closed at the payment service",
    ),
    "account_not_found": (
        "決済サービスにアカウントがない",
        "the payment service has no such account",
    ),
}
BENEFITS_PAYOUT_ITEM_REFUSED = register(
    EventType(
        4020,
        "benefits.payout_item_refused",
        ja="決済サービスがポイントの支払いを受け付けませんでした（{provider} {account}、バッチ "
        "{batch}、{points} ポイント、理由: {reason}）。市の職員が保留を解除するまで、次の支払い"
        "バッチに入りません",
        en="The payment service refused a payout ({provider} {account}, batch {batch}, "
        "{points} points: {reason}); held from later batches until a city official releases it",
        describe=together(describe_provider, in_words("reason", REFUSED_REASON_WORDS)),
    )
)
BENEFITS_PAYOUT_HOLD_RELEASED = register(
    EventType(
        4021,
        "benefits.payout_hold_released",
        ja="決済サービスが受け付けなかった支払いの保留を解除しました（{provider} {account}、"
        "バッチ {batch}）。次の支払いバッチに入ります",
        en="Released the hold of a payout the payment service refused ({provider} {account}, "
        "batch {batch}); the next batch pays it",
        describe=describe_provider,
    )
)
