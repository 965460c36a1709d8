"""Audit event types of the identity domain (block 3000-3099)."""

from collections.abc import Mapping
from typing import Any

from django.utils import translation

from madoguchi.audit.events import EventType, by_os_user, in_labels, register, together
from madoguchi.language import english
from madoguchi.refusals import describe_code

from .access import READ_PAGES, SHELL_READER
from .constants import NoncePurpose


def _page_in_words(payload: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The page a record was read on, as the resident's page names it (an unknown code as it
    is); a read by a command at the server names its OS user as the reader (it has no
    member, and read as 「システム」)."""
    code = str(payload.get("page", "?"))
    label = READ_PAGES.get(code)
    words: dict[str, str] = {"page": code}
    if label is not None:
        with translation.override(lang):
            words["page"] = str(label)
    if payload.get("role") == SHELL_READER:
        user = str(payload.get("os_user") or "?")
        words["actor"] = f"OS user {user}" if english(lang) else f"OS ユーザー {user}"
    return words


TRUST_ANCHOR_ADDED = register(
    EventType(
        3001,
        "identity.trust_anchor_added",
        ja="信頼する認証局 {subject_dn} を追加しました{by}",
        en="Trust anchor {subject_dn} added{by}",
        describe=by_os_user,
    )
)
CRL_IMPORTED = register(
    EventType(
        3002,
        "identity.crl_imported",
        ja="失効リスト（{issuer}、{count} 件）を取り込みました{by}",
        en="Revocation list of {issuer} imported ({count} entries){by}",
        describe=by_os_user,
    )
)
CERTIFICATE_RENEWAL_LINKED = register(
    EventType(
        3003,
        "identity.certificate_renewal_linked",
        ja="証明書の更新を同一の利用者として関連付けました{by}",
        en="Renewed certificate linked to the same holder{by}",
        describe=by_os_user,
    )
)
NONCE_ISSUED = register(
    EventType(
        3004,
        "identity.nonce_issued",
        ja="カード認証用のチャレンジ（{purpose}）を発行しました",
        en="Card challenge issued ({purpose})",
        describe=in_labels("purpose", NoncePurpose),
    )
)
TOKEN_REJECTED = register(
    EventType(
        3005,
        "identity.token_rejected",
        ja="カードのトークンを拒否しました（{code}）",
        en="Card token rejected ({code})",
        describe=describe_code,
    )
)
# 3006 (identity.holder_authenticated) was registered and never recorded: a card's
# authentication is recorded with what it opened, `visits.started` or `residents.signed_in`
# (a refused one is `identity.token_rejected`). The id is not reused.
RECORD_READ = register(
    EventType(
        3007,
        "identity.record_read",
        ja="{actor} が住民の記録を閲覧しました（{page}）",
        en="{actor} viewed a resident's records ({page})",
        describe=_page_in_words,
    )
)
TRUST_ANCHOR_DEACTIVATED = register(
    EventType(
        3008,
        "identity.trust_anchor_deactivated",
        ja="信頼する認証局 {subject_dn} を無効にしました{by}",
        en="Trust anchor {subject_dn} deactivated{by}",
        describe=by_os_user,
    )
)
TRUST_ANCHOR_RENAMED = register(
    EventType(
        3009,
        "identity.trust_anchor_renamed",
        ja="信頼する認証局 {subject_dn} の名前を「{old_name}」から「{name}」に変更しました{by}",
        en='Trust anchor {subject_dn} renamed from "{old_name}" to "{name}"{by}',
        describe=by_os_user,
    )
)
RENEWAL_REFUSED = register(
    EventType(
        3091,
        "identity.certificate_renewal_refused",
        ja="証明書の更新の紐付けを拒否しました（理由: {code}）{by}",
        en="Certificate renewal link refused ({code}){by}",
        describe=together(describe_code, by_os_user),
    )
)
