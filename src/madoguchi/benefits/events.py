"""Audit event types of benefits (block 4000-4999)."""

from madoguchi.audit.events import EventType, register

for _id, _name, _ja, _en in [
    (
        4001,
        "benefits.link_created",
        "決済サービスを紐付けました（{provider} {account}）",
        "Payment service linked ({provider} {account})",
    ),
    (
        4002,
        "benefits.link_suspended",
        "紐付けを利用停止にしました（{provider} {account}、理由: {reason}）",
        "Link suspended ({provider} {account}: {reason})",
    ),
    (
        4003,
        "benefits.link_replaced",
        "紐付けを是正手続きで置き換えました（{provider} {account}）",
        "Link replaced through a case ({provider} {account})",
    ),
    (
        4004,
        "benefits.public_fund_registered",
        "公金受取口座を登録しました（{bank} ＊＊＊{last4}）",
        "Public-fund account registered ({bank} ***{last4})",
    ),
    (
        4005,
        "benefits.health_insurance_registered",
        "健康保険証の利用登録をしました（保険者 {insurer}）",
        "Health-insurance use registered (insurer {insurer})",
    ),
    (
        4006,
        "benefits.representative_authenticated",
        "法定代理人が本人のカードで認証しました（受付 {visit}）",
        "Legal representative authenticated with their own card (visit {visit})",
    ),
    (
        4007,
        "benefits.ledger_transfer",
        "ポイントの記帳: {kind} {points} ポイント",
        "Points posted: {kind} {points} points",
    ),
    (
        4008,
        "benefits.payout_sent",
        "ポイントを付与依頼しました（{provider}、バッチ {batch}、{points} ポイント）",
        "Payout sent ({provider}, batch {batch}, {points} points)",
    ),
    (
        4009,
        "benefits.programme_version_created",
        "事業 {programme} の第 {version} 版を作成しました",
        "Programme {programme} version {version} created",
    ),
    (
        4010,
        "benefits.receipt_emailed",
        "控えをメールで送信しました（受付 {visit}）",
        "Receipt emailed (visit {visit})",
    ),
]:
    register(EventType(_id, _name, ja=_ja, en=_en))
