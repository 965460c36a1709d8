"""Audit events of browser bindings (issue 11)."""

from madoguchi.audit.events import (
    TERMINALS_CREDENTIAL_REJECTED,
    TERMINALS_DESK_SESSION_CLOSED,
    EventType,
    by_os_user,
    describe_with,
    in_labels,
    in_words,
    register,
    together,
)

from .constants import DeskSessionCloseReason

# Why a terminal credential was refused (the payload's `reason`), for the audit line.
CREDENTIAL_REJECTED_REASONS = {
    "revoked": ("認証情報は失効しています", "the credential has been revoked"),
    "unknown": (
        "該当する認証情報がないか、秘密の値が違います",
        "no such credential, or its secret is wrong",
    ),
}
# Why a browser binding was revoked (the payload's `reason`).
UNBOUND_REASONS = {
    "credential_revoked": ("端末の認証情報の失効", "the terminal's credential was revoked"),
    "rotated": ("別のブラウザーの登録", "another browser was enrolled"),
    "revoked": ("運用担当者による取り消し", "revoked by an operator"),
}
describe_with(TERMINALS_CREDENTIAL_REJECTED, in_words("reason", CREDENTIAL_REJECTED_REASONS))
# A session closed by `terminal revoke` names the OS user who ran it.
describe_with(
    TERMINALS_DESK_SESSION_CLOSED,
    together(in_labels("reason", DeskSessionCloseReason), by_os_user),
)

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
        ja="端末 {terminal} のブラウザー登録 {prefix} を取り消しました（理由: {reason}）{by}",
        en="Browser binding {prefix} of terminal {terminal} revoked ({reason}){by}",
        describe=together(in_words("reason", UNBOUND_REASONS), by_os_user),
    )
)
