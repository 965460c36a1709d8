"""An insurer number's last digit is its check digit (検証番号): one digit mistyped from the
insurance card is refused before the insurer is asked, saying so."""

import pytest

from madoguchi.outside import validation
from madoguchi.outside.errors import InvalidRequest


@pytest.mark.parametrize(
    "number",
    # 協会けんぽ 東京支部 and 大阪支部, a 国民健康保険 (千代田区), the simulated insurers,
    # full-width and with a hyphen as people copy them
    [
        *("01130012", "01270016", "131011", "06139992", "139998", "０１１３００１２", "0113-0012"),
        # the dashes a document or a web page gives when the number is copied from it: en and
        # em dash, horizontal bar, non-breaking hyphen (refused as no digits before)
        *("0113\u20130012", "0113\u20140012", "0113\u20150012", "0113\u20110012"),
    ],
)
def test_an_insurer_number_with_its_check_digit_is_taken(number):
    assert validation.insurer_number(number) == validation._compact(number)


@pytest.mark.parametrize("number", ["01130013", "01310012", "131012", "06139999", "139999"])
def test_an_insurer_number_mistyped_is_refused_naming_the_check_digit(number):
    with pytest.raises(InvalidRequest) as refused:
        validation.insurer_number(number)
    assert "検証番号" in refused.value.message_ja
    assert "check digit" in refused.value.message_en


def test_every_single_digit_change_is_caught():
    """The 2-1 weighting catches any one digit changed (not every swap of two)."""
    good = "01130012"
    for i in range(len(good)):
        for d in "0123456789":
            typed = good[:i] + d + good[i + 1 :]
            if typed != good:
                with pytest.raises(InvalidRequest):
                    validation.insurer_number(typed)
