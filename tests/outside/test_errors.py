"""Every failure speaks to staff in Japanese and English and says nothing was linked."""

from __future__ import annotations

import pytest

from madoguchi.outside import errors
from madoguchi.outside.errors import ERRORS_BY_CODE, OutsideError, SecurityCodeWrong, System

ALL = sorted(set(ERRORS_BY_CODE.values()), key=lambda c: c.code)


def test_codes_are_distinct() -> None:
    codes = [cls.code for cls in ALL]
    assert len(codes) == len(set(codes))
    assert len(ALL) >= 15


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.code)
def test_messages_in_both_languages_saying_nothing_was_linked(cls: type[OutsideError]) -> None:
    if cls is SecurityCodeWrong:
        error: OutsideError = SecurityCodeWrong(system=System.PAYMENT_PROVIDER, attempts_left=1)
    else:
        error = cls(system=System.PAYMENT_PROVIDER, detail_ja="詳細", detail_en="detail")
    assert "何も登録していません" in error.message_ja
    assert "Nothing was linked" in error.message_en
    assert error.messages == {"ja": error.message_ja, "en": error.message_en}
    assert "{" not in error.message_ja + error.message_en
    assert str(error) == error.message_en
    assert error.to_dict()["code"] == cls.code


def test_system_name_appears_in_the_message() -> None:
    error = errors.OutsideUnavailable(system=System.INSURER)
    assert "医療保険者" in error.message_ja
    assert error.message_en.startswith("Could not reach the health insurer")
    named = errors.AccountNotFound(
        system=System.PAYMENT_PROVIDER,
        system_name_ja="シミュレーションペイ",
        system_name_en="SimPay",
    )
    assert named.message_ja.startswith("シミュレーションペイに")
    assert named.message_en.startswith("SimPay has no account")


def test_timeouts_are_a_kind_of_unavailability_and_retryable() -> None:
    assert issubclass(errors.OutsideTimeout, errors.OutsideUnavailable)
    assert errors.OutsideTimeout.retryable
    assert not errors.SecurityCodeWrong.retryable
    assert "二重には処理されません" in errors.OutsideTimeout().message_ja


def test_security_code_message_without_a_count() -> None:
    assert "残り" not in SecurityCodeWrong().message_ja
    assert "残り2回" in SecurityCodeWrong(attempts_left=2).message_ja


def test_the_attempts_left_are_a_sentence_of_their_own() -> None:
    """Every refusal is sentences: the count was a bracket after the last one ("… enter it
    again. (4 attempts left)"), found by the procedures' fuzz test at a larger scale."""
    assert SecurityCodeWrong(attempts_left=2).message_ja.endswith(
        "入力し直してください。残り2回です。"
    )
    assert SecurityCodeWrong(attempts_left=4).message_en.endswith(
        "enter it again. 4 attempts are left."
    )
    assert SecurityCodeWrong(attempts_left=1).message_en.endswith(" 1 attempt is left.")
    assert SecurityCodeWrong().message_en.endswith("enter it again.")
