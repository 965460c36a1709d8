"""The desk's procedure forms fuzzed through `procedure_prepare`, as the desk page sends them:
a good point application, public-fund account or health-insurance registration with one field
typed otherwise (full-width digits, hyphens and spaces, kana in half-width or hiragana, dates in
the era, odd text). Each is prepared or refused with a sentence in both languages, never
another exception; the same values typed in full-width digits are prepared as the ASCII ones.
Bounded: a few dozen prepares against the simulators.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from madoguchi.desk import services as desk_services
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from tests.benefits.conftest import apply_fields, prepare, start_visit
from tests.benefits.test_registrations import HI, public_fund
from tests.fuzzing import bounded

pytestmark = pytest.mark.usefixtures("providers", "systems")

FULL_WIDTH = str.maketrans("0123456789-/", "０１２３４５６７８９－／")
GOOD: dict[str, dict[str, Any]] = {
    "point_application": apply_fields(),
    "public_fund_account": public_fund(),
    "health_insurance_use": dict(HI),
}
odd = st.sampled_from(
    [
        "",
        " ",
        "０９９０",
        "0990-",
        "１２３　４５６７",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "やまだ たろう",
        "ヤマダ　タロウ",
        "平成2年1月15日",
        "1990/1/15",
        "昭和65年1月1日",
        "1990-02-30",
        "x" * 5000,
        "\u202e1234567",
        "123456789012",
        "null",
    ]
) | st.text(max_size=20)


TYPED = frozenset(
    {
        "payment_service_id",
        "security_code",
        "bank_code",
        "branch_code",
        "account_number",
        "insurer_number",
        "insured_symbol",
        "insured_number",
        "branch",
        "resident_birth_date",
    }
)


def _full_width(fields: dict[str, Any]) -> dict[str, Any]:
    """The numbers and the date as typed with a Japanese input method on (full-width)."""
    return {k: v.translate(FULL_WIDTH) if k in TYPED else v for k, v in fields.items()}


def test_each_procedure_prepares_or_refuses_a_typed_field_with_a_sentence(trusted, desk) -> None:
    start_visit(desk, trusted.card("C"))

    def attempt(kind: str, fields: dict[str, Any]) -> Refusal | None:
        try:
            procedure = prepare(desk, kind=kind, **fields)
        except Refusal as exc:
            refused = exc
        else:
            desk_services.procedure_discard(desk_session=desk, procedure_id=procedure.pk)
            return None
        assert refused.message_en.rstrip(")").endswith((".", "?")), refused.message_en
        assert refused.message_ja.rstrip("）)").endswith(("。", "？")), refused.message_ja
        return refused

    for kind, fields in GOOD.items():  # the good ones, and in full-width digits, are prepared
        assert attempt(kind, fields) is None, kind
        assert attempt(kind, _full_width(fields)) is None, kind

    @bounded(30)
    @given(kind=st.sampled_from(sorted(GOOD)), data=st.data())
    @example(kind="health_insurance_use", data=None)
    def run(kind: str, data: Any) -> None:
        fields = dict(GOOD[kind])
        if data is not None:
            name = data.draw(st.sampled_from(sorted(fields)))
            fields[name] = data.draw(odd | st.booleans() | st.none() | st.integers())
        attempt(kind, fields)

    run()


@pytest.mark.parametrize("typed", ["平成2年1月15日", "１９９０－０１－１５", "1990/1/15"])
def test_a_birth_date_typed_as_the_card_prints_it_is_the_same_day(trusted, desk, typed) -> None:
    """Through the API the birth date was compared as typed: 平成2年1月15日 (as the card prints
    it, as the page's form takes it) or full-width digits read as another day, refused as "not
    the card holder" with a high-severity mismatch incident in the city's report."""
    start_visit(desk, trusted.card("C"))
    prepare(desk, kind="health_insurance_use", **{**HI, "resident_birth_date": typed})
    assert not Incident.objects.exists()


def test_a_birth_date_that_is_no_day_is_refused_as_such_without_an_incident(trusted, desk):
    start_visit(desk, trusted.card("C"))
    with pytest.raises(Refusal) as refused:
        prepare(desk, kind="health_insurance_use", **{**HI, "resident_birth_date": "1990-02-30"})
    assert refused.value.code == "resident_birth_date_invalid"
    assert "昭和50年9月30日" in refused.value.message_ja
    assert not Incident.objects.exists()
