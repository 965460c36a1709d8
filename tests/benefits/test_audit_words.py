"""The audit lines of the ledger and of reconciliation with the insurer read as words, not as
the codes they store: an official's visit page read 「ポイントの記帳: grant 7500 ポイント」, and
`audit tail` 「外部システムとの突合: missing_at_insurer（incident recorded）」."""

from __future__ import annotations

import pytest

from madoguchi.benefits.constants import TransferKind
from madoguchi.benefits.events import (
    BENEFITS_LEDGER_TRANSFER,
    BENEFITS_OUTSIDE_RECONCILED,
    RECONCILE_FINDING_WORDS,
    TRANSFER_KIND_WORDS,
)


@pytest.mark.parametrize(
    ("kind", "ja", "en"),
    [
        ("grant", "ポイントの記帳: 付与 7500 ポイント", "Points posted: grant 7500 points"),
        ("return", "ポイントの記帳: 返還 7500 ポイント", "Points posted: return 7500 points"),
        ("regrant", "ポイントの記帳: 再付与 7500 ポイント", "Points posted: re-grant 7500 points"),
        ("somethingnew", "ポイントの記帳: somethingnew 7500 ポイント", None),
    ],
)
def test_a_ledger_transfer_reads_as_words(kind, ja, en):
    payload = {"kind": kind, "points": 7500}
    assert BENEFITS_LEDGER_TRANSFER.render(payload, "ja") == ja
    if en:
        assert BENEFITS_LEDGER_TRANSFER.render(payload, "en") == en


def test_every_transfer_kind_has_words():
    assert set(TRANSFER_KIND_WORDS) == set(TransferKind.values)


@pytest.mark.parametrize(
    ("finding", "action", "ja", "en"),
    [
        (
            "missing_at_insurer",
            "incident recorded",
            "外部システムとの突合: 保険者にない登録（インシデントを記録しました）",
            "Reconciled with the outside system: a registration the insurer does not hold "
            "(incident recorded)",
        ),
        (
            "answered_not_recorded",
            "marked refused",
            "外部システムとの突合: 保険者が回答し、こちらに記録されていない登録の依頼"
            "（断られたとして記録しました）",
            None,
        ),
        (
            "not_sent",
            "re-sent: retry timeout",
            "外部システムとの突合: 保険者へまだ送っていない登録の依頼"
            "（送り直しました: 再試行を待つ timeout）",
            "Reconciled with the outside system: a registration not yet sent to the insurer "
            "(sent again: to be retried timeout)",
        ),
        (
            "answered_not_recorded",
            "marked registered registered_person_differs",
            "外部システムとの突合: 保険者が回答し、こちらに記録されていない登録の依頼"
            "（登録済み（保険者の被保険者情報が署名と異なる）として記録しました）",
            "Reconciled with the outside system: a registration the insurer answered that was "
            "not recorded here (recorded as registered (the insurer's record of the person "
            "differs from what was signed))",
        ),
        (
            "registered_twice",
            "incident recorded",
            "外部システムとの突合: 一つの依頼で保険者に二重にある登録（インシデントを記録しました）",
            "Reconciled with the outside system: a request the insurer registered twice "
            "(incident recorded)",
        ),
        (
            "cancelled_but_not_suspended",
            "marked suspended",
            "外部システムとの突合: 保険者が取り消し、こちらで停止されていない登録（停止として記録しました）",
            None,
        ),
    ],
)
def test_a_reconciliation_reads_as_words(finding, action, ja, en):
    payload = {"key": "k", "finding": finding, "action": action}
    assert BENEFITS_OUTSIDE_RECONCILED.render(payload, "ja") == ja
    if en:
        assert BENEFITS_OUTSIDE_RECONCILED.render(payload, "en") == en


def test_every_finding_reconciliation_records_has_words():
    """Each finding the reconciliation records (`_audited`, `_incident`) has its words."""
    import re
    from pathlib import Path

    from madoguchi.benefits.services import reconcile

    source = Path(reconcile.__file__).read_text()
    recorded = set(re.findall(r'_(?:audited|incident)\(\s*[\w.]+,\s*"(\w+)"', source))
    assert recorded
    assert recorded <= set(RECONCILE_FINDING_WORDS)
