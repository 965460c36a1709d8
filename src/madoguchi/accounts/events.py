"""Audit events of issue 11's account rules (privilege changes, admin changes)."""

from madoguchi.audit.events import EventType, register

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
