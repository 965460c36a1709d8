"""Audit events of browser bindings (issue 11)."""

from madoguchi.audit.events import EventType, register

BROWSER_BOUND = register(
    EventType(
        2091,
        "terminals.browser_bound",
        ja="ブラウザーを端末 {terminal} に登録しました（{prefix}）",
        en="A browser was bound to terminal {terminal} ({prefix})",
    )
)
BROWSER_UNBOUND = register(
    EventType(
        2092,
        "terminals.browser_unbound",
        ja="端末 {terminal} のブラウザー登録 {prefix} を取り消しました（理由: {reason}）",
        en="Browser binding {prefix} of terminal {terminal} revoked ({reason})",
    )
)
