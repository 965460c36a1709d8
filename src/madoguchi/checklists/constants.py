from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.desk.constants import CHECKLIST_AFTER_COMPLETION, CHECKLIST_BEFORE_COMPLETION


class Stage(models.TextChoices):
    """When in a visit an item is ticked. Required items of BEFORE_COMPLETION block completion."""

    BEFORE_COMPLETION = CHECKLIST_BEFORE_COMPLETION, _("Before completion")
    AFTER_COMPLETION = CHECKLIST_AFTER_COMPLETION, _("After completion")


class Withdrawal(models.TextChoices):
    """Why the system (no staff member) withdrew a tick: the row's `reason`."""

    SUMMARY_CHANGED = "summary_changed", _("The summary to be signed changed")


# The items that confirm what the card will sign, or the account in it: a procedure prepared or
# discarded changes the summary, and their ticks are withdrawn (`services.summary_changed`), to
# be ticked again for the summary the resident now sees. The other items (the card's face, the
# PIN) are about the person, not the summary.
SUMMARY_ITEMS = frozenset({"summary_confirmed", "payment_card_in_name"})

# The after-completion items done once a visit, at its end (the card returned, the visit
# ended): only the last completion's count. Every other after-completion item is each
# completion's own (each has its receipt to hand over), and the visit's end names an earlier
# completion's left unticked too (`services._record_unticked`).
ONCE_PER_VISIT_ITEMS = frozenset({"visit_ended"})


# The desk manual's points: code, Japanese, English, stage, required, procedure kinds (empty: all).
DEFAULT_TEMPLATE_NAME = "desk"
DEFAULT_ITEMS: list[tuple[str, str, str, Stage, bool, list[str]]] = [
    (
        "card_face_matches",
        "カードの顔写真が来庁者本人であることを確認した",
        "The photo on the card matches the person at the desk",
        Stage.BEFORE_COMPLETION,
        True,
        [],
    ),
    (
        "pin_by_resident",
        "暗証番号は来庁者本人が入力した（職員は入力していない）",
        "The resident typed the PIN themselves (staff did not)",
        Stage.BEFORE_COMPLETION,
        True,
        [],
    ),
    (
        "payment_card_in_name",
        "提示された決済カード・通帳・保険証が来庁者本人の名義である"
        "（未成年者が法定代理人の口座を使う例外では、その法定代理人本人の名義である）",
        "The payment card, bank book or health insurance card shown is in the resident's name "
        "(in the exception of a minor using a legal representative's account: in that "
        "representative's own name)",
        Stage.BEFORE_COMPLETION,
        True,
        ["point_application", "public_fund_account", "health_insurance_use", "test_link"],
    ),
    (
        "summary_confirmed",
        "確定内容を来庁者本人が画面で確認した",
        "The resident confirmed the summary on screen",
        Stage.BEFORE_COMPLETION,
        True,
        [],
    ),
    (
        "receipt_handed",
        "控え（受付票）を来庁者に渡した",
        "The receipt was handed to the resident",
        Stage.AFTER_COMPLETION,
        True,
        [],
    ),
    (
        "visit_ended",
        "カードを返却し、受付を終了した",
        "The card was returned and the visit ended",
        Stage.AFTER_COMPLETION,
        True,
        [],
    ),
]
