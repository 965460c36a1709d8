"""What staff type into the desk's procedure forms, fuzzed: the birth date as the card prints it
or as people write it (`era.parse_date`, behind the health-insurance form's `CardDateField`)
and the numbers read off paper and phones (`outside.validation`: payment service IDs, security
codes, bank, branch and account numbers, insurer numbers), with full-width digits, spaces and
hyphens. Each answers a value or its documented refusal (EraError, InvalidRequest: a sentence
in both languages), never another exception; a full-width typing means what the ASCII one does.
Bounded: about 600 pure examples in all, no database.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from madoguchi import era
from madoguchi.outside import validation
from madoguchi.outside.errors import InvalidRequest
from tests.fuzzing import DERANDOMIZE, examples

SETTINGS = settings(
    max_examples=examples(80), deadline=None, derandomize=DERANDOMIZE, database=None
)
FULL_WIDTH = str.maketrans("0123456789-/.", "０１２３４５６７８９－／．")
ERAS = ["明治", "大正", "昭和", "平成", "令和"]
numbers = st.integers(0, 99).map(str) | st.sampled_from(["元", "００", "０１", "١٢", "²", "①"])
era_texts = st.builds(
    lambda e, y, m, d, sp, tail: f"{e}{sp}{y}年{m}月{d}日{tail}",
    st.sampled_from(ERAS),
    numbers,
    numbers,
    numbers,
    st.sampled_from(["", " ", "\u3000"]),
    st.sampled_from(["", "生", "（水）", "\x00"]),
)
western = st.builds(
    lambda y, m, d, sep: f"{y}{sep}{m}{sep}{d}",
    st.integers(0, 99999).map(str),
    numbers,
    numbers,
    st.sampled_from(["-", "/", ".", "－", "年"]),
)


@SETTINGS
@given(era_texts | western | st.text(max_size=30))
@example("昭和65年1月8日")  # 昭和 ended on 64年1月7日
@example("平成0年1月1日")
@example("0000-01-01")
@example("١٩٧٥-٠٩-٣٠")  # Arabic-Indic digits: `\d` and int() read them
def test_a_typed_birth_date_is_a_day_or_an_era_error(text: str) -> None:
    try:
        day = era.parse_date(text)
    except era.EraError as exc:
        refused: era.EraError | None = exc
    else:
        refused = None
        assert isinstance(day, date)
    if refused is not None:
        assert str(refused).endswith(".")


@SETTINGS
@given(st.dates(date(1873, 1, 1), date(2100, 12, 31)))
def test_the_card_s_printing_and_a_full_width_typing_read_back_as_the_day(day: date) -> None:
    assert era.parse_date(era.format_era(day, weekday=False)) == day
    assert era.parse_date(era.format_era(day, weekday=False) + "生") == day
    assert era.parse_date(day.isoformat().translate(FULL_WIDTH)) == day
    assert era.parse_date(f"{day.year}/{day.month}/{day.day}") == day


CHECKS = [
    validation.payment_service_id,
    validation.security_code,
    validation.bank_code,
    validation.branch_code,
    validation.account_number,
    validation.insurer_number,
    validation.insured_symbol,
    validation.insured_number,
    validation.insured_branch,
    validation.cert_fingerprint,
]
digits = st.text(alphabet="0123456789", min_size=1, max_size=40)
typed = (
    st.text(max_size=40)
    | digits
    | digits.map(lambda s: s.translate(FULL_WIDTH))
    | st.builds(lambda a, b: f"{a}-{b}", digits, digits)
    | st.sampled_from(
        ["\ud800", "\u202e1234", "１２３４５６７８", "12 34", "٠١٢٣", "①②③", "U \u0308"]
    )
)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_a_typed_number_is_normalised_or_refused_with_a_sentence(check) -> None:
    @settings(max_examples=examples(40), deadline=None, derandomize=DERANDOMIZE, database=None)
    @given(typed)
    @example("U \u0308")  # insured_symbol: the space went, then `U` and `̈` made `Ü`
    def run(value: str) -> None:
        try:
            normal = check(value)
        except InvalidRequest as exc:
            refused: InvalidRequest | None = exc
        else:
            refused = None
            assert check(normal) == normal  # normalising again changes nothing
            if value.isascii():
                assert check(value.translate(FULL_WIDTH)) == normal
        if refused is not None:
            assert refused.message_ja.endswith("。")
            assert refused.message_en.endswith(".")

    run()
