"""ゆうちょ銀行's accounts as the passbook gives them (記号 and 番号), turned into the branch
and account number a transfer uses, and the desk's registration of one."""

import pytest

from madoguchi.outside import validation
from madoguchi.outside.errors import InvalidRequest


@pytest.mark.parametrize(
    ("typed", "zengin"),
    [
        # 通常貯金: branch = 記号's 2nd and 3rd digits + 8; number = 番号 without its last 1
        (("9900", "12340", "ordinary", "12345671"), ("238", "1234567")),
        (("9900", "10230", "ordinary", "87654321"), ("028", "8765432")),
        (("9900", "10230", "ordinary", "1234561"), ("028", "0123456")),
        (("９９００", "１０２３０", "ordinary", "8765-4321"), ("028", "8765432")),
        # 振替口座: branch = 記号's 2nd and 3rd digits + 9; number = 番号, 7 digits
        (("9900", "00120", "current", "123456"), ("019", "0123456")),
        # typed as the transfer details already (店番 and 7 digits), or another bank: as typed
        (("9900", "028", "ordinary", "8765432"), ("028", "8765432")),
        (("0990", "12340", "ordinary", "12345671"), ("12340", "12345671")),
    ],
)
def test_a_passbook_symbol_and_number_become_the_branch_and_account(typed, zengin):
    assert validation.japan_post_bank_account(*typed) == zengin


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        (("9900", "22340", "ordinary", "12345671"), "0か1で始まる数字5桁"),
        (("9900", "1234A", "ordinary", "12345671"), "0か1で始まる数字5桁"),
        (("9900", "12340", "ordinary", "12345670"), "末尾が1の数字8桁以内"),
        (("9900", "12340", "ordinary", "123456781"), "末尾が1の数字8桁以内"),
        (("9900", "12340", "ordinary", "1234567x"), "番号は数字です"),
        (("9900", "12340", "current", "12345671"), "預金種目が普通"),
        (("9900", "00120", "ordinary", "123456"), "預金種目が当座"),
        (("9900", "00120", "current", "1234567"), "数字6桁以内"),
        # A 記号 typed a digit short (or long): both ways to type the branch are named, where
        # "a branch code is 3 digits" stood beside the hint that a 5-digit 記号 may be typed.
        (("9900", "1023", "ordinary", "87654321"), "通帳の記号（数字5桁）"),
        (("9900", "102300", "ordinary", "87654321"), "支店コード（数字3桁）"),
    ],
)
def test_a_symbol_or_number_that_cannot_be_one_says_why(typed, says):
    with pytest.raises(InvalidRequest) as refused:
        validation.japan_post_bank_account(*typed)
    assert says in refused.value.message_ja
    assert "ゆうちょ銀行" in refused.value.message_en


@pytest.mark.parametrize("form_name", ["AccountCompareForm", "PublicFundLegacyLinkForm"])
def test_a_case_takes_a_japan_post_bank_passbook_as_the_desk_does(form_name, settings):
    """A public-fund case's comparison and legacy link took the transfer's branch (3 digits)
    and number (7) only, where the resident presents a passbook with 記号 and 番号: the
    official converted by hand, or the comparison said "different" for the same account."""
    from django.utils import translation

    from madoguchi.cases import forms

    form_class = getattr(forms, form_name)
    prefix = "legacy" if form_name.startswith("PublicFund") else None
    extra = {
        "resident_label": "A氏",
        "provider_name": "ゆうちょ銀行",
        "linked_on_precision": "month",
    }

    def data(branch, number, bank="9900"):
        values = {"bank_code": bank, "branch_code": branch, "account_type": "ordinary",
                  "account_number": number, "date_precision": "unknown", **extra}  # fmt: skip
        return {f"{prefix}-{k}" if prefix else k: v for k, v in values.items()}

    form = form_class(data("10230", "87654321"), prefix=prefix)
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["branch_code"], form.cleaned_data["account_number"]) == (
        "028",
        "8765432",
    )
    with translation.override("ja"):
        wrong = form_class(data("10230", "87654320"), prefix=prefix)
        assert not wrong.is_valid()
        assert "末尾が1の数字8桁以内" in str(wrong.errors["branch_code"])
    # Another bank's account is taken as typed.
    other = form_class(data("001", "1234567", bank="0990"), prefix=prefix)
    assert other.is_valid(), other.errors
    assert other.cleaned_data["branch_code"] == "001"
