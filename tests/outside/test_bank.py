"""Bank account holder lookup against the simulated bank."""

from __future__ import annotations

import logging

import pytest

from madoguchi.outside import (
    AccountNotFound,
    AccountStatus,
    AccountSuspended,
    Bank,
    BankAccountType,
    HttpBank,
    InvalidRequest,
)
from madoguchi.outside.sim import RunningSim


def test_lookup_returns_kana_holder_status_and_names(bank: HttpBank) -> None:
    account = bank.lookup_account("0990", "001", BankAccountType.ORDINARY, "1234567")
    assert account.holder_name_kana == "ﾔﾏﾀﾞ ﾀﾛｳ"
    assert account.status is AccountStatus.ACTIVE
    assert (account.bank_name, account.branch_name) == ("シミュレーション銀行", "本店営業部")
    assert account.account_number_last4 == "4567"
    assert "1234567" not in repr(account)
    account.ensure_active()


def test_lookup_normalises_typed_numbers(bank: HttpBank) -> None:
    account = bank.lookup_account("０９９０", "００２", "ordinary", "345-6789")
    assert account.holder_name_kana == "ｽｽﾞｷ ｲﾁﾛｳ"


def test_short_account_numbers_are_zero_padded(bank: HttpBank) -> None:
    # Zengin account numbers are 7 digits; "0234567" and "234567" are the same account.
    with pytest.raises(AccountNotFound):
        bank.lookup_account("0990", "001", "ordinary", "234567")
    assert bank.lookup_account("0990", "001", "ordinary", "2345678").holder_name_kana == "ｻﾄｳ ﾊﾅｺ"


def test_family_members_account_shows_the_family_members_name(bank: HttpBank) -> None:
    account = bank.lookup_account("0990", "002", "ordinary", "4567890")
    assert account.holder_name_kana == "ﾔﾏﾀﾞ ﾊﾅｺ"


def test_unknown_account(bank: HttpBank) -> None:
    with pytest.raises(AccountNotFound) as exc:
        bank.lookup_account("0990", "001", "ordinary", "7654321")
    assert "金融機関" in exc.value.message_ja


def test_account_type_is_part_of_the_account(bank: HttpBank) -> None:
    with pytest.raises(AccountNotFound):
        bank.lookup_account("0990", "001", "savings", "1234567")


def test_frozen_account_cannot_be_linked(bank: HttpBank) -> None:
    account = bank.lookup_account("0991", "101", "savings", "6789012")
    assert account.status is AccountStatus.SUSPENDED
    with pytest.raises(AccountSuspended):
        account.ensure_active()


@pytest.mark.parametrize(
    ("bank_code", "branch", "kind", "number"),
    [
        ("990", "001", "ordinary", "1234567"),
        ("0990", "01", "ordinary", "1234567"),
        ("0990", "001", "futsu", "1234567"),
        ("0990", "001", "ordinary", "12345678"),
        ("0990", "001", "ordinary", "12a4567"),
    ],
)
def test_malformed_input_is_refused_before_sending(
    bank: HttpBank, bank_sim: RunningSim, bank_code: str, branch: str, kind: str, number: str
) -> None:
    with pytest.raises(InvalidRequest):
        bank.lookup_account(bank_code, branch, kind, number)
    assert bank_sim.control.stats()["requests"] == 0


def test_account_numbers_stay_out_of_the_simulators_log(
    bank: HttpBank, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="madoguchi.outside.sim"):
        bank.lookup_account("0990", "001", "ordinary", "1234567")
    assert "/v1/accounts/lookup" in caplog.text
    assert "1234567" not in caplog.text
    assert "***4567" in caplog.text


def test_adapter_satisfies_the_protocol(bank: HttpBank) -> None:
    assert isinstance(bank, Bank)
