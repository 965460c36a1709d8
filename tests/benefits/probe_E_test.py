"""Probe E: what the two cards sign in the minor + legal representative exception."""

import pytest

from madoguchi.benefits import services
from madoguchi.desk import services as desk_services
from tests import cardkit, checklistkit
from tests.benefits.conftest import ORIGIN, apply_fields, prepare
from tests.visits import start_visit, verify_basic_four

MINOR_KANA = "サトウ ショウタ"


def _representative(desk, card, **kwargs):
    desk_services.visit_handover_start(desk_session=desk)
    nonce = services.representative_challenge(desk).value
    token = cardkit.auth_token(card, ORIGIN, nonce)
    return services.representative_authenticate(desk, token, nonce, **kwargs)


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_signed_lines_name_the_reading_the_representative_was_checked_with(
    trusted, desk, minor_card
):
    """Round 16 made the signed lines name the reading the account was compared with (the
    resident's), because a reading typed for another person reads only 「名義照合: 一致」.
    In the minor + representative exception the account is compared with the representative's
    reading, typed by staff (`representative_authenticate(kana=...)`), and that reading is in
    neither the signed lines nor the signed procedure entry: staff type the account holder's
    own reading (a stranger's account, ｽｽﾞｷ ｲﾁﾛｳ here, against representative C) and both
    cards sign 「口座名義は法定代理人のお名前と照合: 一致」 without any line saying whose
    reading that was."""
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    typed = "すずき いちろう"  # hiragana: the name check matches it with the account's ｽｽﾞｷ ｲﾁﾛｳ
    _representative(desk, trusted.card("C"), relationship="parent", kana=typed, kana_confirmed=True)
    prepare(
        desk,
        **apply_fields(
            psid="7010000000000003", code="890", kana=MINOR_KANA, use_representative_exception=True
        ),
    )
    checklistkit.tick_before(desk)
    ch = desk_services.completion_challenge(desk_session=desk)
    display = "\n".join(ch.transaction["display"])
    print(display)
    entry = ch.transaction["procedures"][0]
    assert entry["representative_outcome"] == "match", entry
    # The reading the representative's check used is signed and shown, as the resident's is.
    assert typed in display, display
