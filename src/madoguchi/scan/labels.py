"""The scan's causes and the Japanese words for them and for its evidence.

Kept apart from ``rules`` and ``report`` (which import ibis and PyArrow) so that the officials'
pages can name causes without loading the scan's engines into every server process.
"""

__all__ = [
    "CAUSES",
    "CAUSE_JA",
    "CHECK_JA",
    "EVENT_JA",
    "HOLDER_JA",
    "LINKED_JA",
    "LOGOUT_OMISSION_BY_COMMIT",
    "MISLINK_CAUSES",
    "PROGRAMME_JA",
    "TYPED_JA",
    "recorded_check",
]

CAUSES = ("logout_omission", "typed_wrong_id", "lent_terminal", "wrong_card", "family_account")
MISLINK_CAUSES = CAUSES[:4]

CAUSE_JA = {
    "logout_omission": "ログアウト漏れ",
    "typed_wrong_id": "ID の入力誤り",
    "lent_terminal": "端末・認証の貸し借り",
    "wrong_card": "カードの取り違え",
    "family_account": "家族名義の口座（誤紐付けではありません）",
}
CHECK_JA = {0: "一致", 1: "近似一致", 2: "不一致", 3: "名義不明"}


def recorded_check(value: int | None) -> int:
    """A finding's name check as reported and recorded: none (its resident is not in the
    input's residents, so the holder could not be checked) is "unavailable" (3)."""
    return 3 if value is None else int(value)


LOGOUT_OMISSION_OTHER = {0.97: 0, 0.85: 1, 0.6: 2}
"""What a logout omission's score says of the account holder against the other resident (the
one whose card was read last): `logout_omission.v1` scores 0.97 when the holder matches them,
0.85 when close, 0.6 when neither, and 0.75 when the holder is unknown (rules.py)."""


LOGOUT_OMISSION_BY_COMMIT = "logout_omission_by_commit.v1"
"""The logout omission whose evidence is another resident's commit since the last card read
(issue 13: "after another resident's card was read or their commit happened"), scored as
``logout_omission.v1``; its reasoning names that commit, not a card read."""


def logout_other_check(score: float | None) -> int | None:
    """The holder against the other resident, from a logout omission's score (None: unknown)."""
    if score is None:
        return None
    for value, check in LOGOUT_OMISSION_OTHER.items():
        if abs(score - value) < 1e-9:
            return check
    return None


EVENT_JA = {
    "login": "ログイン",
    "logout": "ログアウト",
    "card_read": "カード読み取り",
    "card_removed": "カード取り外し",
    "commit": "確定",
}
PROGRAMME_JA = {
    "mynapoint_2": "マイナポイント第2弾",
    "public_fund": "公金受取口座",
    "health_insurance": "健康保険証利用登録",
}

# What a finding's reasoning calls the holder name, the thing linked and the number that may
# have been typed wrong, by programme: an insurance registration has no account; its holder
# name is the insured person's, and a self-service link was made without a desk.
HOLDER_JA = {
    "mynapoint_2": "口座名義",
    "public_fund": "口座名義",
    "health_insurance": "被保険者の氏名",
}
LINKED_JA = {
    "mynapoint_2": "決済サービス",
    "public_fund": "口座",
    "health_insurance": "被保険者資格",
}
TYPED_JA = {
    "mynapoint_2": "決済サービス ID",
    "public_fund": "口座番号",
    "health_insurance": "被保険者番号",
}
