"""Audit events of issue 11's account rules (privilege changes, admin changes)."""

from madoguchi.audit.events import (
    ACCOUNTS_SIGN_IN_FAILED,
    EventType,
    describe_with,
    in_words,
    register,
)

# Why a sign-in failed (the payload's `reason`, a SignInRefused code), for the audit line.
SIGN_IN_REASONS = {
    "sign_in_refused": ("サインインが拒否されました", "sign-in was refused"),
    "bad_credentials": ("ユーザー名またはパスワードが違います", "wrong user name or password"),
    "locked_out": ("連続失敗によりロックされています", "locked after repeated failures"),
    "too_many_attempts": (
        "この端末からのサインインの失敗が多すぎるため、1分間受け付けていません",
        "too many failed sign-ins from this address; refused for a minute",
    ),
    "totp_required": ("認証アプリのコードが入力されていません", "no authenticator code entered"),
    "totp_wrong": (
        "認証アプリのコードが違うか期限切れです",
        "the authenticator code was wrong or expired",
    ),
    "totp_not_enrolled": (
        "認証アプリが登録されていません",
        "no authenticator app is registered for the account",
    ),
    "terminal_required": (
        "窓口職員は登録済みの端末でしかサインインできません",
        "desk staff can sign in only on a registered terminal",
    ),
}
describe_with(ACCOUNTS_SIGN_IN_FAILED, in_words("reason", SIGN_IN_REASONS))

PRIVILEGES_CHANGED = register(
    EventType(
        1091,
        "accounts.privileges_changed",
        ja="{by} が {username} の権限を変更しました: {change}",
        en="{by} changed the privileges of {username}: {change}",
    )
)
ADMIN_CHANGED = register(
    EventType(
        1092,
        "accounts.admin_changed",
        ja="{actor} が管理画面で {model} 「{object}」を{action}しました",
        en="{actor} {action} {model} '{object}' in the admin",
    )
)
STAFF_ADDED = register(
    EventType(
        1007,
        "accounts.staff_added",
        ja="{os_user} が職員 {username}（{role}、{organisation}）を追加しました",
        en="{os_user} added staff member {username} ({role}, {organisation})",
    )
)
ORGANISATION_CHANGED = register(
    EventType(
        1008,
        "accounts.organisation_changed",
        ja="{os_user} が組織 {name} を変更しました: {change}",
        en="{os_user} changed organisation {name}: {change}",
    )
)
TOTP_DEVICE_REPLACED = register(
    EventType(
        1009,
        "accounts.totp_device_replaced",
        ja="{os_user} が {username} のワンタイムパスワード端末を置き換えました"
        "（以前の {removed} 台は使えなくなりました）",
        en="{os_user} replaced the one-time password device of {username} "
        "({removed} earlier no longer accepted)",
    )
)
SESSION_LAPSED = register(
    EventType(
        1010,
        "accounts.session_lapsed",
        ja="{actor} のサインインが期限切れで終了しました（{limit}）",
        en="{actor}'s sign-in ended by its limit ({limit})",
    )
)
describe_with(
    SESSION_LAPSED,
    in_words(
        "limit",
        {
            "session_idle": ("操作のない時間の上限", "no request for the idle limit"),
            "session_expired": ("サインインからの時間の上限", "the limit since sign-in"),
        },
    ),
)
