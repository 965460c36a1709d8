"""Audit events of issue 11's account rules (privilege changes, admin changes)."""

import re
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.utils import translation

from madoguchi.audit.events import (
    ACCOUNTS_SIGN_IN_FAILED,
    EventType,
    describe_with,
    in_labels,
    in_words,
    register,
)
from madoguchi.language import english

from .constants import Role

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
    "terminal_of_another_organisation": (
        "この端末は別の事業者の窓口の端末です（窓口職員は自分の事業者の端末でのみサインインできます）",
        "the terminal is another organisation's desk (desk staff sign in only on their own "
        "organisation's terminals)",
    ),
}
describe_with(ACCOUNTS_SIGN_IN_FAILED, in_words("reason", SIGN_IN_REASONS))

# What an operator changed (`madoguchi staff grant|revoke|flag`, the admin), said in words: the
# lines read 「管理画面で benefits.provider 「…」をchangedしました」 and 「権限を変更しました: grant
# city_official」. Unknown codes stay as they are.
_ADMIN_ACTIONS = {"added": "追加", "changed": "変更", "deleted": "削除"}
_FLAGS = {
    "staff": ("管理画面の利用", "admin access"),
    "superuser": ("すべての権限（スーパーユーザー）", "all permissions (superuser)"),
    "active": ("アカウント", "the account"),
}


_ROLE = in_labels("role", Role)


def describe_privileges(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    change = str(payload.get("change", "?"))
    words = change.split()
    if len(words) != 2:
        return {"change": change}
    action, what = words
    en = english(lang)
    if action in ("grant", "revoke"):
        role = _ROLE({"role": what}, lang)["role"]
        if en:
            return {"change": f"{'granted' if action == 'grant' else 'revoked'} the role {role}"}
        return {"change": f"役割「{role}」を{'付与' if action == 'grant' else '取り消し'}"}
    if what in ("on", "off") and action in _FLAGS:
        flag = _FLAGS[action][1 if en else 0]
        if en:
            return {"change": f"{flag} turned {what}"}
        return {"change": f"{flag}を{'有効' if what == 'on' else '無効'}に"}
    return {"change": change}


_ORGANISATION_CHANGE = re.compile(
    r"added \((city|contractor)(?:, serving (.+))?\)|municipality code (\S+)"
)
_KINDS = {"city": ("市", "city"), "contractor": ("委託事業者", "contractor")}


def describe_organisation_change(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """`madoguchi organisation add|set-code`'s change in words (it read 「組織 … を変更しました:
    added (city)」); another change stays as it is."""
    change = str(payload.get("change", "?"))
    m = _ORGANISATION_CHANGE.fullmatch(change)
    if m is None or english(lang):
        return {"change": change}
    kind, city, code = m.groups()
    if code is not None:
        return {"change": "市区町村コードを消去" if code == "cleared" else f"市区町村コード {code}"}
    serving = f"、{city}を担当" if city else ""
    return {"change": f"追加（{_KINDS[kind][0]}{serving}）"}


def describe_admin_change(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    action = str(payload.get("action", "?"))
    model = str(payload.get("model", "?"))
    out = {"action": action if english(lang) else _ADMIN_ACTIONS.get(action, action)}
    try:
        meta = apps.get_model(model)._meta
    except (LookupError, ValueError):
        return {**out, "model": model}
    with translation.override(lang):
        return {**out, "model": str(meta.verbose_name)}


PRIVILEGES_CHANGED = register(
    EventType(
        1091,
        "accounts.privileges_changed",
        ja="{by} が {username} の権限を変更しました: {change}",
        en="{by} changed the privileges of {username}: {change}",
        describe=describe_privileges,
    )
)
ADMIN_CHANGED = register(
    EventType(
        1092,
        "accounts.admin_changed",
        ja="{actor} が管理画面で {model} 「{object}」を{action}しました",
        en="{actor} {action} {model} '{object}' in the admin",
        describe=describe_admin_change,
    )
)
STAFF_ADDED = register(
    EventType(
        1007,
        "accounts.staff_added",
        ja="{os_user} が職員 {username}（{role}、{organisation}）を追加しました",
        en="{os_user} added staff member {username} ({role}, {organisation})",
        describe=_ROLE,
    )
)
ORGANISATION_CHANGED = register(
    EventType(
        1008,
        "accounts.organisation_changed",
        ja="{os_user} が組織 {name} を変更しました: {change}",
        en="{os_user} changed organisation {name}: {change}",
        describe=describe_organisation_change,
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
PASSWORD_SET = register(
    EventType(
        1011,
        "accounts.password_set",
        ja="{by} が {username} のパスワードを設定しました",
        en="{by} set a new password for {username}",
    )
)
LOCKOUT_LIFTED = register(
    EventType(
        1012,
        "accounts.lockout_lifted",
        ja="{by} が {username} のサインインのロックを解除しました",
        en="{by} lifted the sign-in lockout of {username}",
    )
)
