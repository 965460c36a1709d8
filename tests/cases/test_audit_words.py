"""A case's audit lines say its steps and statuses in words: the log read 「ケース CASE-00001:
suspension（investigation → suspended）」 and 「通知書（close）」."""

from __future__ import annotations

from madoguchi.cases.events import CASES_STEP
from madoguchi.residents.events import NOTICE_ISSUED


def test_a_case_step_reads_as_words():
    payload = {
        "case": "CASE-00001",
        "kind": "suspension",
        "from_status": "investigation",
        "to_status": "suspended",
    }
    assert CASES_STEP.render(payload, "ja") == "ケース CASE-00001: 利用停止（調査 → 利用停止）"
    en = CASES_STEP.render(payload, "en")
    assert en == "Case CASE-00001: Link suspended (Investigation -> Link suspended)"
    unknown = CASES_STEP.render({**payload, "kind": "newkind"}, "en")
    assert unknown.startswith("Case CASE-00001: newkind (")


def test_a_notice_letter_line_says_which_step_it_is_for():
    payload = {"case": "CASE-00001", "kind": "close", "notice": 1}
    assert NOTICE_ISSUED.render(payload, "ja") == "ケース CASE-00001 の通知書（完了）を作成しました"
    assert (
        NOTICE_ISSUED.render(payload, "en") == "Notice letter for case CASE-00001 issued (Closed)"
    )
