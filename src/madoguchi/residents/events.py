"""Audit event types of the resident page (identity block, 3501-3599)."""

from madoguchi.audit.events import EventType, in_labels, in_words, register
from madoguchi.cases.constants import EntryKind
from madoguchi.refusals import describe_code

from .constants import EndReason, ItemKind

# The resident page's parts, as the audit line names them (the stored code stays in the payload).
PAGES_IN_WORDS = {
    "records": ("記録の一覧", "the list of records"),
    "receipt": ("控え（PDF）", "a receipt (PDF)"),
    "notice": ("通知書（PDF）", "a notice letter (PDF)"),
    "not_me": ("「これは自分ではない」の申し出画面", "the “this was not me” form"),
    "reported": ("申し出の受付番号の画面", "the report's reference number"),
}

SIGNED_IN = register(
    EventType(
        3501,
        "residents.signed_in",
        ja="住民が自分のカードで住民用ページにサインインしました",
        en="A resident signed in to their own page with their card",
    )
)
SIGN_IN_REFUSED = register(
    EventType(
        3502,
        "residents.sign_in_refused",
        ja="住民用ページのカード認証を拒否しました（{code}）",
        en="Resident page card sign-in refused ({code})",
        describe=describe_code,
    )
)
SESSION_ENDED = register(
    EventType(
        3503,
        "residents.session_ended",
        ja="住民用ページの利用を終了しました（{reason}）",
        en="Resident page session ended ({reason})",
        describe=in_labels("reason", EndReason),
    )
)
PAGE_VIEWED = register(
    EventType(
        3504,
        "residents.page_viewed",
        ja="住民が自分の記録（{page}）を表示しました",
        en="A resident viewed their own records ({page})",
        describe=in_words("page", PAGES_IN_WORDS),
    )
)
NOT_ME_REPORTED = register(
    EventType(
        3505,
        "residents.not_me_reported",
        ja="住民が「自分ではない」と申し出ました（{item}、ケース {case}）",
        en='A resident reported "this was not me" ({item}, case {case})',
        describe=in_labels("item", ItemKind),
    )
)
NOTICE_ISSUED = register(
    EventType(
        3506,
        "residents.notice_issued",
        ja="ケース {case} の通知書（{kind}）を作成しました",
        en="Notice letter for case {case} issued ({kind})",
        describe=in_labels("kind", EntryKind),
    )
)
COMPLETION_EMAILED = register(
    EventType(
        3507,
        "residents.completion_emailed",
        ja="手続完了のお知らせをメールで送信しました（受付 {visit}）",
        en="Completion notice emailed to the resident (visit {visit})",
    )
)
CHALLENGE_ISSUED = register(
    EventType(
        3508,
        "residents.challenge_issued",
        ja="住民用ページのカード認証用チャレンジを発行しました",
        en="Resident page sign-in challenge issued",
    )
)
